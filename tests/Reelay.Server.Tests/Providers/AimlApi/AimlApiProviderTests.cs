using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Emulators.AimlApi;
using Reelay.Emulators.Kernel;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Providers.AimlApi;
using Reelay.Providers.Http;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.AimlApi;

/// <summary>The AI/ML API adapter against the AI/ML API EMULATOR (loopback; never the real service).</summary>
public sealed class AimlApiProviderTests : IAsyncLifetime
{
    private readonly AimlApiEmulator _emulator = new(new EmulatorOptions { ApiKey = "aiml-secret-key-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new AimlApiProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedWireFormatAndSucceeds()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        Assert.EndsWith(":openai/sora-2-t2v", accepted.UpstreamId, StringComparison.Ordinal);

        var sent = _emulator.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/v2/video/generations");
        Assert.Equal("Bearer:ok", sent.AuthorizationForm);
        Assert.StartsWith("application/json", sent.ContentType, StringComparison.Ordinal);
        var body = sent.Json;
        Assert.Equal("openai/sora-2-t2v", body.GetProperty("model").GetString());
        Assert.Equal("a lighthouse at dusk", body.GetProperty("prompt").GetString());
        Assert.Equal("720p", body.GetProperty("resolution").GetString());
        Assert.Equal("16:9", body.GetProperty("aspect_ratio").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("duration").ValueKind);
        Assert.Equal(8, body.GetProperty("duration").GetInt32());
        Assert.False(body.TryGetProperty("image_url", out _));

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        var poll = _emulator.Requests.First(r => r.Method == "GET" && r.PathAndQuery.StartsWith("/v2/video/generations?", StringComparison.Ordinal));
        Assert.Equal("/v2/video/generations?generation_id=" + Uri.EscapeDataString(accepted.UpstreamId), poll.PathAndQuery);
        Assert.Equal("Bearer:ok", poll.AuthorizationForm);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_ProFirstFrameOfWrongSize_FittedTo1080pSizeAndSentAsDataUri()
    {
        var image = await TestFiles.ImageAsync(1000, 700, "jpg");
        var job = AdapterUnderTest.Job("sora-2-pro", "openai/sora-2-pro-i2v", 1024, 1792, 4, image);

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST").Json;
        Assert.Equal("openai/sora-2-pro-i2v", sent.GetProperty("model").GetString());
        Assert.Equal("1080p", sent.GetProperty("resolution").GetString());
        Assert.Equal("9:16", sent.GetProperty("aspect_ratio").GetString());
        var dataUri = sent.GetProperty("image_url").GetString()!;
        Assert.StartsWith("data:image/png;base64,", dataUri, StringComparison.Ordinal);
        var info = ImageInfo.Sniff(Convert.FromBase64String(dataUri[(dataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]));
        Assert.Equal((1024, 1792), (info!.Width, info.Height));
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 1792x1024 is 1080p, which the non-pro model's enum refuses (routing would have skipped it; the adapter still classifies).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 1792, 1024), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("Body validation error! resolution: Invalid enum value", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_2xxWithStatusErrorAndModerationMessage_RejectedAsModerationNotAccepted()
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, """{"id":"g1","status":"error","error":{"name":"ModerationError","message":"The prompt was blocked by content moderation"}}""");
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await stub.Provider.SubmitAsync(Text(), CancellationToken.None));
        Assert.Equal(ErrorCodes.ModerationBlocked, outcome.Error.Code);
        Assert.Equal("prompt", outcome.Error.Stage);
    }

    [Fact]
    public async Task Poll_UnknownGeneration_FailedAsLost()
    {
        var job = Text();
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.Provider.PollAsync(Running(job, "video_missing:openai/sora-2-t2v"), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
        Assert.Contains("404", failed.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("waiting", 0)]
    [InlineData("Queued", 0)]
    [InlineData("active", null)]
    [InlineData("GENERATING", null)]
    [InlineData("rendering", null)]
    public async Task Poll_UndocumentedOrOddCaseStatus_StillRunning(string status, int? progress)
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, $$"""{"id":"g1","status":"{{status}}","video":null,"error":null}""");
        var outcome = Assert.IsType<PollOutcome.Running>(await stub.Provider.PollAsync(Running(Text(), "g1"), CancellationToken.None));
        Assert.Equal(progress, outcome.Progress);
    }

    [Fact]
    public async Task Poll_CompletedWithoutVideoUrl_FailedNotSucceeded()
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, """{"id":"g1","status":"completed","video":null}""");
        var failed = Assert.IsType<PollOutcome.Failed>(await stub.Provider.PollAsync(Running(Text(), "g1"), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
    }

    [Fact]
    public void CheckSupport_WhatTheModelsCannotDo_SaysWhy()
    {
        var provider = _adapter.Provider;
        Assert.Contains("duration 10 s", provider.CheckSupport(AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 720, 1280, seconds: 10).Job, "openai/sora-2-t2v"), StringComparison.Ordinal);
        var big = AdapterUnderTest.Job("sora-2-pro", "openai/sora-2-t2v", 1792, 1024).Job;
        Assert.Contains("size 1792x1024", provider.CheckSupport(big, "openai/sora-2-t2v"), StringComparison.Ordinal);
        Assert.Null(provider.CheckSupport(big, "openai/sora-2-pro-t2v"));
        Assert.Contains("size 1920x1080", provider.CheckSupport(AdapterUnderTest.Job("sora-2-pro", "x", 1920, 1080).Job, "openai/sora-2-pro-t2v"), StringComparison.Ordinal);
        Assert.Contains("image-to-video only", provider.CheckSupport(AdapterUnderTest.Job("sora-2", "x", 720, 1280).Job, "openai/sora-2-i2v"), StringComparison.Ordinal);
        var watermark = AdapterUnderTest.Job("sora-2", "x", 720, 1280, options: new Dictionary<string, string> { ["watermark"] = "true" }).Job;
        Assert.Contains("watermark", provider.CheckSupport(watermark, "openai/sora-2-t2v"), StringComparison.Ordinal);
        var defaults = AdapterUnderTest.Job("sora-2", "x", 720, 1280, 12, options: new Dictionary<string, string> { ["watermark"] = "false", ["private"] = "false" }).Job;
        Assert.Null(provider.CheckSupport(defaults, "openai/sora-2-t2v"));
    }

    [Fact]
    public async Task Gateway_Sora2RoutedToAimlApi_CompletesWithVideoOfTheRequestedShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("aiml", "aimlapi", _emulator),
            new Dictionary<string, string?> { ["Reelay:Routes:sora-2:0:Provider"] = "aiml" });
        await using var server = await ReelayTestServer.StartAsync(settings);

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a lighthouse at dusk", seconds = "4", size = "1280x720" });
        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(server, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        var duration = double.Parse(probe.Split('\n').First(l => l.StartsWith("duration=", StringComparison.Ordinal))[9..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(duration, 3.9, 4.1);
        var sent = _emulator.Requests.Single(r => r.Method == "POST").Json;
        Assert.Equal("openai/sora-2-t2v", sent.GetProperty("model").GetString());
    }

    private static ProviderJob Text() => AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 720, 1280);

    private static ProviderJob Running(ProviderJob job, string upstreamId) =>
        new() { Job = job.Job with { UpstreamId = upstreamId }, UpstreamModel = job.UpstreamModel };

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
            var options = new ProviderInstanceOptions { Type = "aimlapi", BaseUrl = "http://upstream.invalid/", ApiKey = "k" };
            var http = new UpstreamHttpClient("stub", new Uri(options.BaseUrl), TimeSpan.FromSeconds(5), 0, TimeProvider.System, new Canned(status, json));
            var frames = new FirstFrames(new MediaTransforms(new FfmpegRunner()), Path.GetTempPath());
            return new StubAdapter(http, new AimlApiProviderFactory().Create("stub", options, new ProviderServices(http, frames, TimeProvider.System, NullLoggerFactory.Instance)));
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
