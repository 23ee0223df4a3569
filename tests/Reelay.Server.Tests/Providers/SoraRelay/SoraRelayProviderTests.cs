using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.SoraRelay;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.SoraRelay;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.SoraRelay;

/// <summary>The Sora relay adapter against the Sora relay EMULATOR (loopback; never a real relay).</summary>
public sealed class SoraRelayProviderTests : IAsyncLifetime
{
    private readonly SoraRelayEmulator _emulator = new(new EmulatorOptions { ApiKey = "relay-secret-key-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new SoraRelayProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedWireFormatAndSucceeds()
    {
        var job = AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/v2/videos/generations");
        Assert.Equal("Bearer:ok", sent.AuthorizationForm);
        Assert.StartsWith("application/json", sent.ContentType, StringComparison.Ordinal);
        var body = sent.Json;
        Assert.Equal("sora-2", body.GetProperty("model").GetString());
        Assert.Equal("a lighthouse at dusk", body.GetProperty("prompt").GetString());
        Assert.Equal("9:16", body.GetProperty("aspect_ratio").GetString());
        Assert.Equal(JsonValueKind.False, body.GetProperty("hd").ValueKind);
        Assert.Equal(JsonValueKind.String, body.GetProperty("duration").ValueKind);
        Assert.Equal("8", body.GetProperty("duration").GetString());
        Assert.False(body.TryGetProperty("images", out _));
        Assert.False(body.TryGetProperty("watermark", out _));
        Assert.False(body.TryGetProperty("notify_hook", out _));

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        var poll = _emulator.Requests.First(r => r.Method == "GET");
        Assert.Equal("/v2/videos/generations/" + accepted.UpstreamId, poll.PathAndQuery);
        Assert.Equal("Bearer:ok", poll.AuthorizationForm);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_ProHdWithOptions_SendsHdTrueAndTheOptionsAsBooleans()
    {
        var options = new Dictionary<string, string> { ["watermark"] = "true", ["private"] = "false" };
        var job = AdapterUnderTest.Job("sora-2-pro", "sora-2-pro", 1792, 1024, 15, options: options);

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.Method == "POST").Json;
        Assert.Equal("sora-2-pro", body.GetProperty("model").GetString());
        Assert.Equal("16:9", body.GetProperty("aspect_ratio").GetString());
        Assert.True(body.GetProperty("hd").GetBoolean());
        Assert.Equal("15", body.GetProperty("duration").GetString());
        Assert.Equal(JsonValueKind.True, body.GetProperty("watermark").ValueKind);
        Assert.Equal(JsonValueKind.False, body.GetProperty("private").ValueKind);
        var task = Assert.Single(_emulator.Tasks.All);
        Assert.Equal((1792, 1024, 15), (task.Width, task.Height, task.Seconds));
    }

    [Fact]
    public async Task Submit_FirstFrameOfWrongSize_FittedToTheVideoSizeSoUpstreamAccepts()
    {
        var image = await TestFiles.ImageAsync(1000, 700, "jpg");
        var job = AdapterUnderTest.Job("sora-2", "sora-2", 1280, 720, 4, image);

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST").Json;
        var images = sent.GetProperty("images");
        Assert.Equal(JsonValueKind.Array, images.ValueKind);
        var dataUri = Assert.Single(images.EnumerateArray()).GetString()!;
        Assert.StartsWith("data:image/png;base64,", dataUri, StringComparison.Ordinal);
        var info = ImageInfo.Sniff(Convert.FromBase64String(dataUri[(dataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]));
        Assert.Equal((1280, 720), (info!.Width, info.Height));
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 25 s is sora-2-pro only (routing would have skipped it; the adapter still classifies the relay's refusal).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, 25), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("only sora-2-pro supports 25 seconds", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_NoTaskIdIn200_OutcomeUnknown()
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, """{"code":"success","message":"","data":{}}""");
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await stub.Provider.SubmitAsync(Text(), CancellationToken.None));
        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, outcome.Error.Code);
    }

    [Theory]
    [InlineData("""{"task_id":"t-1"}""")]
    [InlineData("""{"id":"t-1"}""")]
    [InlineData("""{"code":"success","data":{"task_id":"t-1"}}""")]
    public async Task Submit_TaskIdInAnyToleratedPlace_Accepted(string reply)
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, reply);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await stub.Provider.SubmitAsync(Text(), CancellationToken.None));
        Assert.Equal("t-1", accepted.UpstreamId);
    }

    [Fact]
    public async Task Poll_InProgress_ReadsThePercentStringAsProgress()
    {
        _emulator.Options.RunTime = TimeSpan.FromSeconds(20);
        var job = Text();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        await Task.Delay(1500);

        var running = Assert.IsType<PollOutcome.Running>(await _adapter.Provider.PollAsync(Running(job, accepted.UpstreamId), CancellationToken.None));

        Assert.InRange(running.Progress!.Value, 1, 99);
        var raw = await RawStatusAsync(accepted.UpstreamId);
        Assert.Equal("IN_PROGRESS", raw.GetProperty("status").GetString());
        Assert.EndsWith("%", raw.GetProperty("progress").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_UnknownTask_FailedAsLost()
    {
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.Provider.PollAsync(Running(Text(), "no-such-task"), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
    }

    [Theory]
    [InlineData("""{"task_id":"t","status":"SUBMITTED","progress":"0%"}""", 0)]
    [InlineData("""{"task_id":"t","status":"queued"}""", 0)]
    [InlineData("""{"task_id":"t","status":"in_progress","progress":"42%"}""", 42)]
    [InlineData("""{"task_id":"t","status":"UPLOADING","progress":"97%"}""", null)]
    [InlineData("""{"code":"success","message":"","data":{"task_id":"t","status":"IN_PROGRESS","progress":"30%"}}""", 30)]
    public async Task Poll_UndocumentedShapesOrStatuses_StillRunning(string reply, int? progress)
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, reply);
        var running = Assert.IsType<PollOutcome.Running>(await stub.Provider.PollAsync(Running(Text(), "t"), CancellationToken.None));
        Assert.Equal(progress, running.Progress);
    }

    [Theory]
    [InlineData("""{"status":"SUCCESS","progress":"100%","data":{"output":"https://cdn.example/v.mp4"}}""")]
    [InlineData("""{"status":"success","data":{"url":"https://cdn.example/v.mp4"}}""")]
    [InlineData("""{"status":"SUCCESS","video_url":"https://cdn.example/v.mp4"}""")]
    [InlineData("""{"code":"success","data":{"status":"SUCCESS","output":"https://cdn.example/v.mp4"}}""")]
    public async Task Poll_SuccessWithResultInAnyToleratedPlace_Succeeded(string reply)
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, reply);
        var done = Assert.IsType<PollOutcome.Succeeded>(await stub.Provider.PollAsync(Running(Text(), "t"), CancellationToken.None));
        Assert.Equal("https://cdn.example/v.mp4", done.Result.Video);
    }

    [Fact]
    public async Task Poll_SuccessWithoutUrl_FailedNotSucceeded()
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, """{"status":"SUCCESS","progress":"100%","data":null}""");
        var failed = Assert.IsType<PollOutcome.Failed>(await stub.Provider.PollAsync(Running(Text(), "t"), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
    }

    [Fact]
    public void CheckSupport_WhatTheModelsCannotDo_SaysWhy()
    {
        var provider = _adapter.Provider;
        Assert.Contains("duration 25 s", provider.CheckSupport(Shape(720, 1280, 25), "sora-2"), StringComparison.Ordinal);
        Assert.Null(provider.CheckSupport(Shape(720, 1280, 25), "sora-2-pro"));
        Assert.Contains("duration 5 s", provider.CheckSupport(Shape(720, 1280, 5), "sora-2-pro"), StringComparison.Ordinal);
        Assert.Null(provider.CheckSupport(Shape(1280, 720, 10), "sora-2"));
        Assert.Null(provider.CheckSupport(Shape(1280, 720, 4), "sora-2"));
        Assert.Contains("only sora-2-pro", provider.CheckSupport(Shape(1792, 1024, 10), "sora-2"), StringComparison.Ordinal);
        Assert.Null(provider.CheckSupport(Shape(1024, 1792, 15), "sora-2-pro"));
        Assert.Contains("no effect at 25 s", provider.CheckSupport(Shape(1792, 1024, 25), "sora-2-pro"), StringComparison.Ordinal);
        Assert.Contains("size 1920x1080", provider.CheckSupport(Shape(1920, 1080, 10), "sora-2-pro"), StringComparison.Ordinal);
        Assert.Null(provider.CheckSupport(Shape(720, 1280, 10, new() { ["watermark"] = "true", ["private"] = "true" }), "sora-2"));
        Assert.Contains("bgm", provider.CheckSupport(Shape(720, 1280, 10, new() { ["bgm"] = "true" }), "sora-2"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_Sora2ImageToVideoRoutedToRelay_CompletesWithVideoOfTheRequestedShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("relay", "sora-relay", _emulator),
            new Dictionary<string, string?> { ["Reelay:Routes:sora-2:0:Provider"] = "relay" });
        await using var server = await ReelayTestServer.StartAsync(settings);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sora-2"), "model" },
            { new StringContent("slow push in on the lighthouse"), "prompt" },
            { new StringContent("4"), "seconds" },
            { new StringContent("1280x720"), "size" },
        };
        var image = new ByteArrayContent(await TestFiles.ImageAsync(1000, 700, "jpg"));
        image.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(image, "input_reference", "frame.jpg");
        using var response = await server.Http.PostAsync("/v1/videos", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;

        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(server, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        var duration = double.Parse(probe.Split('\n').First(l => l.StartsWith("duration=", StringComparison.Ordinal))[9..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(duration, 3.9, 4.1);
        var sent = _emulator.Requests.Single(r => r.Method == "POST").Json;
        Assert.Equal("sora-2", sent.GetProperty("model").GetString());
        Assert.Equal("4", sent.GetProperty("duration").GetString());
        Assert.Single(sent.GetProperty("images").EnumerateArray());
    }

    private static ProviderJob Text() => AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280);

    private static Job Shape(int width, int height, int seconds, Dictionary<string, string>? options = null) =>
        AdapterUnderTest.Job("sora-2", "sora-2", width, height, seconds, options: options).Job;

    private static ProviderJob Running(ProviderJob job, string upstreamId) =>
        new() { Job = job.Job with { UpstreamId = upstreamId }, UpstreamModel = job.UpstreamModel };

    private async Task<JsonElement> RawStatusAsync(string taskId)
    {
        using var http = new HttpClient { BaseAddress = _emulator.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _emulator.Options.ApiKey);
        return JsonDocument.Parse(await http.GetStringAsync($"v2/videos/generations/{taskId}")).RootElement.Clone();
    }

    /// <summary>The adapter against a canned reply, for shapes the emulator does not produce (tolerance).</summary>
    private sealed class StubAdapter : IAsyncDisposable
    {
        private readonly UpstreamHttpClient _http;

        private StubAdapter(UpstreamHttpClient http, IVideoProvider provider)
        {
            _http = http;
            Provider = provider;
        }

        public IVideoProvider Provider { get; }

        public static StubAdapter Create(HttpStatusCode status, string json)
        {
            var options = new ProviderInstanceOptions { Type = "sora-relay", BaseUrl = "http://upstream.invalid/", ApiKey = "k" };
            var http = new UpstreamHttpClient("stub", new Uri(options.BaseUrl), TimeSpan.FromSeconds(5), 0, TimeProvider.System, new Canned(status, json));
            var frames = new FirstFrames(new MediaTransforms(new FfmpegRunner()), Path.GetTempPath());
            return new StubAdapter(http, new SoraRelayProviderFactory().Create("stub", options, new ProviderServices(http, frames, TimeProvider.System, NullLoggerFactory.Instance)));
        }

        public ValueTask DisposeAsync()
        {
            _http.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Canned(HttpStatusCode status, string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
    }
}
