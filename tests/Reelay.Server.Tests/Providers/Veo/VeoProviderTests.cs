using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Media;
using Reelay.Providers.Http;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Veo;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Veo;
using Reelay.Server.Tests.Providers.Conformance;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Veo;

/// <summary>The Veo adapter in the conformance suite, against the Veo EMULATOR.</summary>
public sealed class VeoConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new VeoProviderFactory();

    protected override string? WrongKeyAuthForm => "x-goog-api-key:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new VeoEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("veo-3.1", "veo-3.1-generate-preview", 1280, 720, 8, prompt: prompt));
}

/// <summary>What is particular to Veo's wire (long-running operations, content-filter results, keyed file downloads), against the Veo EMULATOR (loopback; never Google), and through a real gateway.</summary>
public sealed class VeoProviderTests : IAsyncLifetime
{
    private const string Model = "veo-3.1-generate-preview";
    private readonly VeoEmulator _emulator = new(new EmulatorOptions { ApiKey = "AIza-veo-secret-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new VeoProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_TextToVideo_StartsAnOperationPolledByNameAndDownloadedWithTheKey()
    {
        var job = AdapterUnderTest.Job("veo-3.1", Model, 720, 1280, 6, options: new Dictionary<string, string> { ["negative_prompt"] = "cartoon" });
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST");
        Assert.Equal($"/v1beta/models/{Model}:predictLongRunning", sent.PathAndQuery);
        Assert.Equal("x-goog-api-key:ok", sent.AuthorizationForm);
        var body = sent.Json;
        Assert.Equal("a lighthouse at dusk", body.GetProperty("instances")[0].GetProperty("prompt").GetString());
        var parameters = body.GetProperty("parameters");
        Assert.Equal("9:16", parameters.GetProperty("aspectRatio").GetString());
        Assert.Equal("720p", parameters.GetProperty("resolution").GetString());
        Assert.Equal(6, parameters.GetProperty("durationSeconds").GetInt32());
        Assert.Equal("cartoon", parameters.GetProperty("negativePrompt").GetString());
        Assert.False(parameters.TryGetProperty("personGeneration", out _));
        Assert.StartsWith($"models/{Model}/operations/", accepted.UpstreamId, StringComparison.Ordinal);

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal("/v1beta/" + accepted.UpstreamId, _emulator.Requests.First(r => r.Method == "GET").PathAndQuery);
        Assert.Contains(":download?alt=media", done.Result.Video, StringComparison.Ordinal);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
        Assert.Equal("x-goog-api-key:ok", _emulator.Requests.Last(r => r.PathAndQuery.Contains(":download", StringComparison.Ordinal)).AuthorizationForm);
    }

    [Fact]
    public async Task Download_WithoutTheKey_RefusedByTheFileEndpoint()
    {
        var job = AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await http.GetAsync(new Uri(done.Result.Video));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("API_KEY_INVALID", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ImageToVideo_SendsTheFrameInlineAndTheVideoHasTheAskedShape()
    {
        var job = AdapterUnderTest.Job("veo-3.1", Model, 1920, 1080, 8, _image, "the astronaut waves");
        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var instance = _emulator.Requests.Single(r => r.Method == "POST").Json.GetProperty("instances")[0];
        var inline = instance.GetProperty("image").GetProperty("inlineData");
        Assert.StartsWith("image/", inline.GetProperty("mimeType").GetString(), StringComparison.Ordinal);
        Assert.Equal(_image.Length, Convert.FromBase64String(inline.GetProperty("data").GetString()!).Length);
        var task = Assert.Single(_emulator.Tasks.All);
        Assert.Equal((1920, 1080, 8), (task.Width, task.Height, task.Seconds));
    }

    [Fact]
    public async Task Poll_DoneWithNeitherSamplesNorReason_ModerationNeverSuccess()
    {
        await using var stub = StubAdapter.Create(HttpStatusCode.OK, """{"name":"models/m/operations/x","done":true,"response":{"generateVideoResponse":{}}}""");
        var running = new ProviderJob { Job = AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 8).Job with { UpstreamId = "models/m/operations/x" }, UpstreamModel = Model };
        var failed = Assert.IsType<PollOutcome.Failed>(await stub.Provider.PollAsync(running, CancellationToken.None));
        Assert.Equal(ErrorCodes.ModerationBlocked, failed.Error.Code);
    }

    [Fact]
    public async Task Poll_RateLimitedWithRetryInfoOnly_RetriesAfterTheRetryDelay()
    {
        await using var stub = StubAdapter.Create((HttpStatusCode)429, """{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}""");
        var running = new ProviderJob { Job = AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 8).Job with { UpstreamId = "models/m/operations/x" }, UpstreamModel = Model };
        var later = Assert.IsType<PollOutcome.RetryLater>(await stub.Provider.PollAsync(running, CancellationToken.None));
        Assert.Equal(TimeSpan.FromSeconds(31), later.After);
    }

    [Fact]
    public void CheckSupport_SizeDurationOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 4).Job, Model));
        Assert.Contains("size 960x960", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", Model, 960, 960, 8).Job, Model), StringComparison.Ordinal);
        Assert.Contains("duration 5 s", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 5).Job, Model), StringComparison.Ordinal);
        Assert.Contains("at 1080p", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", Model, 1920, 1080, 6).Job, Model), StringComparison.Ordinal);
        Assert.Contains("private=true", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 8, options: new Dictionary<string, string> { ["private"] = "true" }).Job, Model), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_TextAndImageToVideoRoutedToTheEmulator_CompleteAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("gemini", "veo", _emulator),
            new() { ["Reelay:Routes:veo-3.1:0:Provider"] = "gemini" });
        await using var gateway = await ReelayTestServer.StartAsync(settings);

        var text = await GatewayWithEmulators.CreateAsync(gateway, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        var image = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "veo-3.1",
            prompt = "the astronaut waves",
            seconds = "8",
            size = "720x1280",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(_image) },
        });

        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, text)).GetProperty("status").GetString());
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, image)).GetProperty("status").GetString());
        var textProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, text);
        Assert.Contains("width=1280", textProbe, StringComparison.Ordinal);
        Assert.Contains("duration=4.0", textProbe, StringComparison.Ordinal);
        var imageProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, image);
        Assert.Contains("width=720", imageProbe, StringComparison.Ordinal);
        Assert.Contains("height=1280", imageProbe, StringComparison.Ordinal);
        Assert.All(_emulator.Requests, r => Assert.Equal("x-goog-api-key:ok", r.AuthorizationForm));
    }

    /// <summary>The adapter over a canned reply (for shapes the emulator does not produce).</summary>
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
            var options = new ProviderInstanceOptions { Type = "veo", BaseUrl = "http://upstream.invalid/v1beta/", ApiKey = "k" };
            var http = new UpstreamHttpClient("stub", new Uri(options.BaseUrl), TimeSpan.FromSeconds(5), 0, TimeProvider.System, new Canned(status, json));
            var frames = new FirstFrames(new MediaTransforms(new FfmpegRunner()), Path.GetTempPath());
            return new StubAdapter(http, new VeoProviderFactory().Create("stub", options, new ProviderServices(http, frames, TimeProvider.System, NullLoggerFactory.Instance)));
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
