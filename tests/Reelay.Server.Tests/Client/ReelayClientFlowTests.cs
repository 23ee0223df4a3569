using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Client;

namespace Reelay.Server.Tests.Client;

public sealed class ReelayClientFlowTests
{
    [Fact]
    public async Task ListAllVideosAsync_SeveralPages_FollowsCursorAndYieldsEveryVideoOnce()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var created = Enumerable.Range(0, 7).Select(_ => api.AddVideo().Id).ToList();

        var seen = new List<string>();
        await foreach (var video in client.ListAllVideosAsync(new ListVideosOptions { Limit = 3, Order = ListOrder.Ascending }))
        {
            seen.Add(video.Id);
        }

        Assert.Equal(created, seen);
        var requests = api.Requests;
        Assert.Equal(3, requests.Count);
        Assert.Null(requests[0].QueryValue("after"));
        Assert.Equal(created[2], requests[1].QueryValue("after"));
        Assert.Equal(created[5], requests[2].QueryValue("after"));
        Assert.All(requests, r => Assert.Equal("3", r.QueryValue("limit")));
    }

    [Fact]
    public async Task ListAllVideosAsync_StopEarly_FetchesOnlyNeededPages()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        for (var i = 0; i < 10; i++)
        {
            api.AddVideo();
        }

        var first = await client.ListAllVideosAsync(new ListVideosOptions { Limit = 2 }).Take(3).ToListAsync();

        Assert.Equal(3, first.Count);
        Assert.Equal(2, api.Requests.Count);
    }

    [Fact]
    public async Task ListAllVideosAsync_HasMoreWithoutNewCursor_ThrowsInsteadOfLooping()
    {
        var page = new JsonObject { ["object"] = "list", ["data"] = new JsonArray(), ["first_id"] = null, ["last_id"] = null, ["has_more"] = true };
        var handler = new CannedHandler(_ => CannedHandler.ToMessage(FakeResponse.Json(200, page)));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(async () =>
        {
            await foreach (var _ in client.ListAllVideosAsync())
            {
            }
        });

        Assert.Equal("invalid_response", ex.ErrorType);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task WaitForCompletionAsync_JobProgresses_ReportsEachPollAndReturnsCompleted()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        api.StepsToFinish = 4;
        var video = api.AddVideo();
        var reports = new List<Video>();

        var final = await client.WaitForCompletionAsync(video.Id, new SyncProgress(reports.Add), TimeSpan.Zero);

        Assert.Equal(VideoStatus.Completed, final.Status);
        Assert.Equal(100, final.Progress);
        Assert.Equal([25, 50, 75, 100], reports.Select(r => r.Progress));
        Assert.Equal(VideoStatus.InProgress, reports[0].Status);
        Assert.Same(final, reports[^1]);
        Assert.Equal(4, api.Requests.Count);
    }

    [Fact]
    public async Task WaitForCompletionAsync_JobFails_ReturnsFailedVideoWithoutThrowing()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        api.FinalStatus = VideoStatus.Failed;
        var video = api.AddVideo();

        var final = await client.WaitForCompletionAsync(video.Id, pollInterval: TimeSpan.Zero);

        Assert.Equal(VideoStatus.Failed, final.Status);
        Assert.Equal("moderation_blocked", final.Error?.Code);
    }

    [Fact]
    public async Task WaitForCompletionAsync_AlreadyTerminal_PollsOnce()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo(VideoStatus.Cancelled);

        var final = await client.WaitForCompletionAsync(video.Id, pollInterval: TimeSpan.FromHours(1));

        Assert.Equal(VideoStatus.Cancelled, final.Status);
        Assert.Single(api.Requests);
    }

    [Fact]
    public async Task WaitForCompletionAsync_TransientErrorThenSuccess_KeepsPolling()
    {
        var (_, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo();
        api.StepsToFinish = 1;
        var calls = 0;
        var handler = new CannedHandler(async (request, ct) =>
        {
            if (Interlocked.Increment(ref calls) <= 2)
            {
                return CannedHandler.ToMessage(FakeReelayApi.Error(503, "server_error", "upstream_unavailable", "busy", null) with { RetryAfter = TimeSpan.Zero });
            }

            return await new HttpMessageInvoker(new FakeApiHandler(api)).SendAsync(request, ct);
        });
        var client = ClientFactory.Create(handler);

        var final = await client.WaitForCompletionAsync(video.Id, pollInterval: TimeSpan.Zero);

        Assert.Equal(VideoStatus.Completed, final.Status);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task WaitForCompletionAsync_NotFound_Throws()
    {
        var (client, _) = ClientFactory.CreateWithFakeApi();

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.WaitForCompletionAsync("video_gone", pollInterval: TimeSpan.Zero));

        Assert.Equal(404, ex.StatusCode);
    }

    [Fact]
    public async Task WaitForCompletionAsync_Cancelled_StopsWaiting()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        api.StepsToFinish = int.MaxValue;
        var video = api.AddVideo();
        using var cts = new CancellationTokenSource();
        var polls = 0;

        var ex = await Record.ExceptionAsync(() => client.WaitForCompletionAsync(video.Id, new SyncProgress(_ =>
        {
            if (++polls == 3)
            {
                cts.Cancel();
            }
        }), TimeSpan.FromMilliseconds(1), cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.Equal(3, polls);
    }

    [Fact]
    public async Task DownloadContentAsync_LargeBody_StreamsWithoutBufferingWholeResponse()
    {
        var destination = new MemoryStream();
        var source = new LockstepStream(destination, chunkSize: 16 * 1024, chunks: 64);
        var handler = new CannedHandler(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(source, 16 * 1024) };
            response.Content.Headers.ContentType = new("video/mp4");
            return response;
        });
        var client = ClientFactory.Create(handler);

        var written = await client.DownloadContentAsync("video_1", destination);

        Assert.Equal(16 * 1024 * 64, written);
        Assert.Equal(LockstepStream.Expected(16 * 1024 * 64), destination.ToArray());
        Assert.False(source.ReadAheadOfDestination, "the client read more of the body before writing what it had: it buffered");
        Assert.Equal("/v1/videos/video_1/content", Assert.Single(handler.Requests).Request.RequestUri!.AbsolutePath);
        Assert.Equal("?variant=video", handler.Requests[0].Request.RequestUri!.Query);
    }

    [Fact]
    public async Task DownloadContentToFileAsync_Thumbnail_RequestsVariantAndWritesFile()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo(VideoStatus.Completed, 100);
        var path = Path.Combine(Path.GetTempPath(), $"reelay-{Guid.NewGuid():N}", "thumb.jpg");
        try
        {
            var bytes = await client.DownloadContentToFileAsync(video.Id, path, VideoVariant.Thumbnail);

            Assert.Equal(api.ThumbnailBytes, await File.ReadAllBytesAsync(path));
            Assert.Equal(api.ThumbnailBytes.Length, bytes);
            Assert.Equal("thumbnail", Assert.Single(api.Requests).QueryValue("variant"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public async Task DownloadContentToFileAsync_VideoNotReady_ThrowsAndLeavesNoFile()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo(VideoStatus.InProgress, 40);
        var directory = Directory.CreateTempSubdirectory("reelay-dl-").FullName;
        try
        {
            var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.DownloadContentToFileAsync(video.Id, Path.Combine(directory, "out.mp4")));

            Assert.Equal(409, ex.StatusCode);
            Assert.Empty(Directory.GetFiles(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ParallelCalls_OnOneClient_EachGetsItsOwnAnswer()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var ids = Enumerable.Range(0, 50).Select(_ => api.AddVideo(VideoStatus.Completed, 100).Id).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            await Task.Yield();
            switch (i % 4)
            {
                case 0:
                    var id = ids[i % ids.Length];
                    return (await client.GetVideoAsync(id)).Id == id;
                case 1:
                    var prompt = $"prompt {i}";
                    return (await client.CreateVideoAsync(new CreateVideoRequest { Prompt = prompt, Seconds = i % 20 + 1 })).Prompt == prompt;
                case 2:
                    return (await client.ListVideosAsync(new ListVideosOptions { Limit = 5 })).Data.Count == 5;
                default:
                    var stream = new MemoryStream();
                    await client.DownloadContentAsync(ids[i % ids.Length], stream);
                    return stream.ToArray().SequenceEqual(api.VideoBytes);
            }
        }));

        Assert.All(results, Assert.True);
        Assert.Equal(400, api.Requests.Count);
        Assert.All(api.Requests, r => Assert.Equal("Bearer " + ClientFactory.Key, r.Authorization));
        Assert.Equal(100, api.Creates.Count);
    }

    [Fact]
    public async Task AddReelayClient_ResolvedFromContainer_UsesConfiguredAddressAndKey()
    {
        var api = new FakeReelayApi { RequiredKey = () => "di-key" };
        var services = new ServiceCollection();
        services.AddReelayClient(o =>
        {
            o.BaseAddress = new Uri("http://di.test/");
            o.ApiKey = "di-key";
        }).ConfigurePrimaryHttpMessageHandler(() => new FakeApiHandler(api));
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<ReelayClient>();
        var models = await client.ListModelsAsync();

        Assert.Equal(new Uri("http://di.test/"), client.BaseAddress);
        Assert.Equal("sandbox", Assert.Single(models).Id);
        Assert.Equal("/v1/models", Assert.Single(api.Requests).Path);
    }

    private sealed class SyncProgress(Action<Video> report) : IProgress<Video>
    {
        public void Report(Video value) => report(value);
    }

    /// <summary>
    /// A response body that notes whether it is asked for more bytes before the client wrote out what it already
    /// read: a streaming copy never is; a client that buffers the body first is on its second read.
    /// </summary>
    private sealed class LockstepStream(MemoryStream destination, int chunkSize, int chunks) : Stream
    {
        private long _produced;

        public bool ReadAheadOfDestination { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _produced; set => throw new NotSupportedException(); }

        public static byte[] Expected(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 % 251)).ToArray();

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var total = (long)chunkSize * chunks;
            if (_produced >= total)
            {
                return 0;
            }

            if (destination.Length < _produced)
            {
                ReadAheadOfDestination = true;
            }

            var n = (int)Math.Min(Math.Min(buffer.Length, chunkSize), total - _produced);
            for (var i = 0; i < n; i++)
            {
                buffer[i] = (byte)((_produced + i) * 31 % 251);
            }

            _produced += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
