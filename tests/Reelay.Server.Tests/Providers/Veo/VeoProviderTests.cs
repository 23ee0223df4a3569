using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
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

    /// <summary>An extension job as the engine stores it (reserved reelay.* options), continuing a source of <paramref name="sourceSeconds"/> s.</summary>
    private static Job Extension(string upstream, int width, int height, int extensionSeconds, string? sourceUri = "https://veo.invalid/v1beta/files/abc:download?alt=media", int sourceSeconds = 4)
    {
        var options = new Dictionary<string, string> { ["reelay.operation"] = "extend", ["reelay.extension_seconds"] = extensionSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (sourceUri is not null)
        {
            options["reelay.source_upstream_result"] = sourceUri;
        }

        return AdapterUnderTest.Job("veo-3.1", upstream, width, height, sourceSeconds + extensionSeconds, options: options).Job;
    }

    [Fact]
    public void CheckSupport_ExtensionVeoCannotMake_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Contains(JobOperations.Extend, p.Operations);
        Assert.DoesNotContain(JobOperations.Remix, p.Operations);
        Assert.Null(p.CheckSupport(Extension(Model, 1280, 720, 8), Model));
        Assert.Null(p.CheckSupport(Extension("veo-3.1-fast-generate-preview", 720, 1280, 8), "veo-3.1-fast-generate-preview"));
        Assert.Contains("does not extend", p.CheckSupport(Extension("veo-3.1-lite-generate-preview", 1280, 720, 8), "veo-3.1-lite-generate-preview"), StringComparison.Ordinal);
        Assert.Contains("does not extend", p.CheckSupport(Extension("veo-3.1-generate-001", 1280, 720, 8), "veo-3.1-generate-001"), StringComparison.Ordinal);
        Assert.Contains("extension of 4 s", p.CheckSupport(Extension(Model, 1280, 720, 4), Model), StringComparison.Ordinal);
        Assert.Contains("720p only", p.CheckSupport(Extension(Model, 1920, 1080, 8), Model), StringComparison.Ordinal);
        Assert.Contains("not known", p.CheckSupport(Extension(Model, 1280, 720, 8, sourceUri: null), Model), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ExtensionOfItsOwnOutput_SendsTheFileUriAndTheEmulatorStitches()
    {
        var source = AdapterUnderTest.Job("veo-3.1", Model, 720, 1280, 4);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(source, CancellationToken.None));
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(source, accepted.UpstreamId));
        Assert.Equal(done.Result.Video, done.Result.UpstreamReference);

        var extension = new ProviderJob { Job = Extension(Model, 720, 1280, 8, done.Result.UpstreamReference), UpstreamModel = Model };
        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(extension, CancellationToken.None));

        var body = _emulator.Requests.Last(r => r.Method == "POST").Json;
        var instance = body.GetProperty("instances")[0];
        Assert.Equal(done.Result.Video, instance.GetProperty("video").GetProperty("uri").GetString());
        Assert.False(instance.TryGetProperty("image", out _));
        Assert.Equal("720p", body.GetProperty("parameters").GetProperty("resolution").GetString());
        Assert.Equal("9:16", body.GetProperty("parameters").GetProperty("aspectRatio").GetString());
        Assert.Equal(8, body.GetProperty("parameters").GetProperty("durationSeconds").GetInt32());
        var made = _emulator.Tasks.All.Single(t => t.Extra.GetValueOrDefault("operation") == "extend");
        Assert.Equal((720, 1280, 12), (made.Width, made.Height, made.Seconds));
    }

    [Theory]
    [InlineData("https://generativelanguage.googleapis.com/v1beta/files/abc123", Model, "instances[0].video.uri")]
    [InlineData("{own}v1beta/files/000000000000:download?alt=media", Model, "instances[0].video.uri")]
    [InlineData("{own}v1beta/files/{source}:download?alt=media", "veo-3.1-lite-generate-preview", "not supported")]
    public async Task Emulator_ExtensionOfAnUnknownUriOrOnAModelWithout_400InvalidArgumentNamingIt(string uri, string model, string expected)
    {
        var source = AdapterUnderTest.Job("veo-3.1", Model, 1280, 720, 4);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(source, CancellationToken.None));
        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(source, accepted.UpstreamId));
        var sourceId = accepted.UpstreamId[(accepted.UpstreamId.LastIndexOf('/') + 1)..];

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_emulator.BaseUrl, $"v1beta/models/{model}:predictLongRunning"))
        {
            Content = JsonContent.Create(new
            {
                instances = new[] { new { prompt = "continue", video = new { uri = uri.Replace("{own}", _emulator.BaseUrl.AbsoluteUri, StringComparison.Ordinal).Replace("{source}", sourceId, StringComparison.Ordinal) } } },
                parameters = new { resolution = "720p", durationSeconds = 8 },
            }),
        };
        request.Headers.TryAddWithoutValidation("x-goog-api-key", "AIza-veo-secret-123456");
        using var response = await http.SendAsync(request);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", error.GetProperty("status").GetString());
        Assert.Contains(expected, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, _emulator.Tasks.Count);
    }

    [Fact]
    public async Task Gateway_ExtensionOfAVeoVideo_RoutedToItsDeploymentWithItsFileUriAndTheStitchedTotal()
    {
        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("gemini", "veo", _emulator),
            new() { ["Reelay:Routes:veo-3.1:0:Provider"] = "gemini" }));
        var sourceId = await GatewayWithEmulators.CreateAsync(gateway, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, sourceId)).GetProperty("status").GetString());
        var sourceTask = Assert.Single(_emulator.Tasks.All);

        using var response = await gateway.Http.PostAsJsonAsync("/v1/videos/extensions", new { prompt = "it sails away", seconds = "8", video = new { id = sourceId } });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var created = JsonDocument.Parse(text).RootElement;
        Assert.Equal("12", created.GetProperty("seconds").GetString()); // OpenAI: for extensions, the stitched total
        var id = created.GetProperty("id").GetString()!;
        var done = await GatewayWithEmulators.WaitAsync(gateway, id);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());

        // Both answers are OpenAI's VideoResource as its published document gives it (the fixture excerpt).
        var published = ApiDocuments.OpenApiJson.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "ApiDocuments", "Fixtures", "openai-videos.openapi.json")));
        published.AssertResponse("/videos/extensions", "POST", 200, created);
        published.AssertResponse("/videos/{video_id}", "GET", 200, done);

        var sent = _emulator.Requests.Last(r => r.Method == "POST").Json;
        Assert.Equal(new Uri(_emulator.BaseUrl, $"v1beta/files/{sourceTask.Id}:download?alt=media").AbsoluteUri, sent.GetProperty("instances")[0].GetProperty("video").GetProperty("uri").GetString());
        Assert.Equal("it sails away", sent.GetProperty("instances")[0].GetProperty("prompt").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(gateway, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("duration=12.0", probe, StringComparison.Ordinal);

        // The file uri is an upstream handle behind the gateway's key: no client reads it.
        Assert.DoesNotContain("files/", await gateway.Http.GetStringAsync($"/v1/videos/{id}"), StringComparison.Ordinal);
        Assert.DoesNotContain("files/", await gateway.Http.GetStringAsync($"/v1/videos/{sourceId}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_OperationsVeoCannotDo_UnsupportedModelNamingTheOperation()
    {
        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("gemini", "veo", _emulator),
            new() { ["Reelay:Routes:veo-3.1:0:Provider"] = "gemini" }));
        var sourceId = await GatewayWithEmulators.CreateAsync(gateway, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, sourceId)).GetProperty("status").GetString());

        foreach (var (path, body, operation, why) in new (string, object, string, string)[]
        {
            ("/v1/videos/extensions", new { prompt = "longer", seconds = "4", video = new { id = sourceId } }, "extend operation", "8 s only"),
            ($"/v1/videos/{sourceId}/remix", new { prompt = "again" }, "remix operation", "veo-3.1"),
            ("/v1/videos/edits", new { prompt = "make it red", video = new { id = sourceId } }, "edit operation", "veo-3.1"),
        })
        {
            using var response = await gateway.Http.PostAsJsonAsync(path, body);
            var text = await response.Content.ReadAsStringAsync();
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
            Assert.Equal("unsupported_model", error.GetProperty("code").GetString());
            Assert.Contains(operation, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains(why, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Single(_emulator.Requests, r => r.Method == "POST");
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
