using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Server.Events;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.OpenAI;

/// <summary>GET /v1/videos/{id}/events, read as raw text/event-stream with a real HttpClient.</summary>
public sealed class VideoEventsTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync(new()
    {
        ["Reelay:Events:HeartbeatInterval"] = "00:00:01",
        ["Reelay:Events:MaxOpenStreams"] = "3",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    internal sealed record SseEvent(string? Name, string? Id, string Data);

    private async Task<string> CreateAsync(string json)
    {
        using var response = await _server.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private Task<HttpResponseMessage> OpenAsync(string id, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Reads the whole stream as the SSE spec frames it; comments are counted, not returned.</summary>
    internal static async Task<(List<SseEvent> Events, int Comments)> ReadAllAsync(HttpResponseMessage response, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<SseEvent>();
        var comments = 0;
        string? name = null, id = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    events.Add(new SseEvent(name, id, data.ToString()));
                }

                name = id = null;
                data.Clear();
            }
            else if (line.StartsWith(':'))
            {
                comments++;
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line[6..]);
            }
            else
            {
                Assert.StartsWith("retry: ", line, StringComparison.Ordinal);
            }
        }

        return (events, comments);
    }

    [Fact]
    public async Task Events_SandboxJob_StreamsProgressThenTerminalEventAndEnds()
    {
        // Long enough a render that several polls see it grow: on an idle machine 8 s at 640x360 renders in about 1.5 s,
        // between two polls' worth of progress.
        var id = await CreateAsync("""{"model":"sandbox","prompt":"A lighthouse at dawn","seconds":"12","size":"960x540"}""");
        using var response = await OpenAsync(id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-cache", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);

        var (events, _) = await ReadAllAsync(response, TimeSpan.FromSeconds(120));

        Assert.True(events.Count >= 3, string.Join("\n", events));
        Assert.Contains(events[0].Name, new[] { "video.queued", "video.in_progress" });
        var videos = events.Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(videos, v => Assert.Equal(id, v.GetProperty("id").GetString()));

        // Ids are the job's versions: strictly increasing, so a reconnect can say where it was.
        var ids = events.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());

        // Several progress events, never decreasing, each named for what changed.
        var progress = events.Where(e => e.Name == "video.progress").Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("progress").GetInt32()).ToList();
        Assert.True(progress.Count >= 2, $"progress events: {string.Join(", ", progress)}");
        Assert.Equal(progress.Order(), progress);
        Assert.Contains(events, e => e.Name == "video.in_progress");

        // The terminal event is last, carries the finished video, and the server closed the stream after it.
        Assert.Equal("video.completed", events[^1].Name);
        Assert.Equal("completed", videos[^1].GetProperty("status").GetString());
        Assert.Equal(100, videos[^1].GetProperty("progress").GetInt32());
        Assert.Equal(1, events.Count(e => e.Name == "video.completed"));
        Assert.Equal(0, _server.App.Services.GetRequiredService<JobEventHub>().OpenSubscriptions);
    }

    [Fact]
    public async Task Events_FinishedJob_SendsOnlyTheTerminalEventAndSkipsItForLastEventId()
    {
        var id = await CreateAsync("""{"model":"sandbox","prompt":"Short","seconds":"1","size":"160x90"}""");
        using (var first = await OpenAsync(id))
        {
            await ReadAllAsync(first, TimeSpan.FromSeconds(60));
        }

        using var again = await OpenAsync(id);
        var (events, _) = await ReadAllAsync(again, TimeSpan.FromSeconds(10));
        var single = Assert.Single(events);
        Assert.Equal("video.completed", single.Name);

        using var resumed = await OpenAsync(id, single.Id);
        var (none, _) = await ReadAllAsync(resumed, TimeSpan.FromSeconds(10));
        Assert.Empty(none);
    }

    [Fact]
    public async Task Events_UnknownId_Returns404InOpenAIEnvelope()
    {
        using var response = await OpenAsync("video_00000000000000000000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal(0, _server.App.Services.GetRequiredService<JobEventHub>().OpenSubscriptions);
    }

    [Fact]
    public async Task Events_NoKey_Returns401()
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };
        using var response = await http.GetAsync("/v1/videos/video_00000000000000000000000000000000/events");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Events_BadLastEventId_Returns400NamingTheHeader()
    {
        var id = await CreateAsync("""{"model":"sandbox","prompt":"Short","seconds":"1","size":"160x90"}""");
        using var response = await OpenAsync(id, "yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("Last-Event-ID", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Events_ClientDisconnects_SubscriptionReleasedAndHeartbeatsSent()
    {
        var hub = _server.App.Services.GetRequiredService<JobEventHub>();
        var id = await CreateAsync("""{"model":"sandbox","prompt":"Long","seconds":"20","size":"1280x720"}""");
        var response = await OpenAsync(id);
        var stream = await response.Content.ReadAsStreamAsync();
        var reader = new StreamReader(stream);
        Assert.Equal(1, hub.OpenSubscriptions);

        // The heartbeat (every second here) arrives as a comment line while the job runs.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (await reader.ReadLineAsync(timeout.Token) is { } line && line != ": keep-alive")
            {
            }
        }

        response.Dispose();
        var watch = Stopwatch.StartNew();
        while (hub.OpenSubscriptions != 0 && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, hub.OpenSubscriptions);
        (await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null)).Dispose();
    }

    [Fact]
    public async Task Events_OverMaxOpenStreams_Returns429WithRetryAfter()
    {
        var id = await CreateAsync("""{"model":"sandbox","prompt":"Long","seconds":"20","size":"1280x720"}""");
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var ok = await OpenAsync(id);
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                open.Add(ok);
            }

            using var refused = await OpenAsync(id);
            Assert.Equal((HttpStatusCode)429, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.Contains("Reelay:Events:MaxOpenStreams", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            open.ForEach(r => r.Dispose());
            (await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null)).Dispose();
        }
    }

    [Fact]
    public async Task Events_JobCancelled_EndsWithFailedEventCarryingCancelledCode()
    {
        var id = await CreateAsync("""{"model":"sandbox","prompt":"Long","seconds":"20","size":"1280x720"}""");
        using var response = await OpenAsync(id);
        var read = ReadAllAsync(response, TimeSpan.FromSeconds(30));
        (await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null)).Dispose();
        var (events, _) = await read;
        Assert.Equal("video.failed", events[^1].Name);
        Assert.Equal("cancelled", JsonDocument.Parse(events[^1].Data).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Events_ServerStops_OpenStreamEndsPromptly()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var create = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"Long","seconds":"20","size":"1280x720"}""", Encoding.UTF8, "application/json"));
        var id = JsonDocument.Parse(await create.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using var response = await server.Http.GetAsync($"/v1/videos/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var read = ReadAllAsync(response, TimeSpan.FromSeconds(30));

        var watch = Stopwatch.StartNew();
        await server.App.StopAsync();
        await read;
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("Reelay:Events:MaxOpenStreams", "0", "Reelay:Events:MaxOpenStreams must be 1 to 100000")]
    [InlineData("Reelay:Events:HeartbeatInterval", "00:00:00", "Reelay:Events:HeartbeatInterval must be 1 second to 5 minutes")]
    [InlineData("Reelay:Events:BufferSize", "1", "Reelay:Events:BufferSize must be 2 to 1024")]
    public Task Start_InvalidEventsSetting_FailsNamingTheSetting(string key, string value, string message) =>
        ReelayTestServer.AssertStartRefusedAsync(key, value, message);
}
