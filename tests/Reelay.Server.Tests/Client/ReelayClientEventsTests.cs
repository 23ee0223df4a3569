using System.Net;
using System.Text;
using Reelay.Client;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Client;

/// <summary>The SDK's live events: StreamEventsAsync and WaitForCompletionStreamingAsync.</summary>
public sealed class ReelayClientEventsTests
{
    private static string Video(string status, int progress) =>
        $$"""{"id":"video_1","object":"video","model":"sandbox","status":"{{status}}","progress":{{progress}},"created_at":1,"seconds":"4","size":"320x240"}""";

    private static HttpResponseMessage Sse(string body) => CannedHandler.Text(HttpStatusCode.OK, body, "text/event-stream");

    [Fact]
    public async Task StreamEventsAsync_SandboxJobOnRealServer_YieldsProgressThenCompletedLast()
    {
        await using var server = await ReelayTestServer.StartAsync();
        var client = new ReelayClient(server.BaseAddress, server.ApiKey);
        var video = await client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "A lighthouse at dawn", Seconds = 12, Size = "960x540" });

        var events = new List<VideoEvent>();
        await foreach (var item in client.StreamEventsAsync(video.Id))
        {
            events.Add(item);
        }

        Assert.True(events.Count >= 3, string.Join(", ", events.Select(e => $"{e.Type} {e.Video.Progress}")));
        Assert.All(events, e => Assert.Equal(video.Id, e.Video.Id));
        Assert.Contains(events, e => e.Type == VideoEvent.Progress);
        Assert.Equal(VideoEvent.Completed, events[^1].Type);
        Assert.True(events[^1].IsTerminal);
        Assert.Equal(VideoStatus.Completed, events[^1].Video.Status);
        Assert.Single(events, e => e.IsTerminal);
        var progress = events.Select(e => e.Video.Progress).ToList();
        Assert.Equal(progress.Order(), progress);
    }

    [Fact]
    public async Task StreamEventsAsync_ConnectionEndsEarly_ReconnectsOnceWithLastEventId()
    {
        var handler = new CannedHandler(request => request.Headers.TryGetValues("Last-Event-ID", out var ids)
            ? Sse($"event: video.completed\nid: {ids.Single()}9\ndata: {Video("completed", 100)}\n\n")
            : Sse($"retry: 3000\n\nevent: video.in_progress\nid: 4\ndata: {Video("in_progress", 10)}\n\n: keep-alive\n\n"));
        var client = ClientFactory.Create(handler);

        var events = new List<VideoEvent>();
        await foreach (var item in client.StreamEventsAsync("video_1"))
        {
            events.Add(item);
        }

        Assert.Equal(["video.in_progress", "video.completed"], events.Select(e => e.Type));
        Assert.Equal("49", events[1].EventId);
        Assert.Equal(2, handler.Requests.Count);
        Assert.All(handler.Requests, r => Assert.Equal("/v1/videos/video_1/events", r.Request.RequestUri!.AbsolutePath));
        Assert.Equal("text/event-stream", handler.Requests[0].Request.Headers.Accept.Single().MediaType);
    }

    [Fact]
    public async Task StreamEventsAsync_EndsTwiceWithoutFinalEvent_ThrowsStreamEnded()
    {
        var handler = new CannedHandler(_ => Sse(": keep-alive\n\n"));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(async () =>
        {
            await foreach (var unused in client.StreamEventsAsync("video_1"))
            {
            }
        });

        Assert.Equal("stream_ended", ex.Code);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task WaitForCompletionStreamingAsync_ServerWithoutEventStream_FallsBackToPolling()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo();
        var seen = new List<string>();

        var final = await client.WaitForCompletionStreamingAsync(video.Id, new SyncProgress(v => seen.Add(v.Status)), TimeSpan.FromMilliseconds(1));

        Assert.Equal(VideoStatus.Completed, final.Status);
        Assert.Equal($"/v1/videos/{video.Id}/events", api.Requests[0].Path);
        Assert.True(api.Requests.Count(r => r.Path == $"/v1/videos/{video.Id}") >= 2);
        Assert.Equal(VideoStatus.Completed, seen[^1]);
    }

    [Fact]
    public async Task WaitForCompletionStreamingAsync_UnknownVideo_ThrowsNotFound()
    {
        var (client, _) = ClientFactory.CreateWithFakeApi();

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.WaitForCompletionStreamingAsync("video_missing", pollInterval: TimeSpan.FromMilliseconds(1)));

        Assert.Equal(404, ex.StatusCode);
    }

    [Fact]
    public async Task WaitForCompletionStreamingAsync_Stream_ReportsEveryEventAndNeverPolls()
    {
        var handler = new CannedHandler(request => request.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal)
            ? Sse($"event: video.queued\nid: 1\ndata: {Video("queued", 0)}\n\nevent: video.progress\nid: 2\ndata: {Video("in_progress", 50)}\n\nevent: video.completed\nid: 3\ndata: {Video("completed", 100)}\n\n")
            : CannedHandler.Text(HttpStatusCode.InternalServerError, "polled"));
        var client = ClientFactory.Create(handler);
        var seen = new List<int>();

        var final = await client.WaitForCompletionStreamingAsync("video_1", new SyncProgress(v => seen.Add(v.Progress)));

        Assert.Equal(VideoStatus.Completed, final.Status);
        Assert.Equal([0, 50, 100], seen);
        Assert.Single(handler.Requests);
    }

    private sealed class SyncProgress(Action<Video> report) : IProgress<Video>
    {
        public void Report(Video value) => report(value);
    }
}
