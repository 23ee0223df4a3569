using Reelay.Emulators.DashScope;
using Reelay.Emulators.Kernel;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.DashScope;
using Reelay.Server.Tests.Providers.Conformance;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.DashScope;

/// <summary>The DashScope adapter in the conformance suite, against the DashScope EMULATOR.</summary>
public sealed class DashScopeConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new DashScopeProviderFactory();

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new DashScopeEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("wan-2.5", "wan2.5-t2v-preview", 1280, 720, 5, prompt: prompt));
}

/// <summary>What is particular to DashScope's wire (the async header, two body shapes), against the DashScope EMULATOR (loopback; never Alibaba), and through a real gateway.</summary>
public sealed class DashScopeProviderTests : IAsyncLifetime
{
    private readonly DashScopeEmulator _emulator = new(new EmulatorOptions { ApiKey = "sk-dashscope-secret-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new DashScopeProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_LegacyTextToVideo_SendsTheAsyncHeaderAndSizeWithAStar()
    {
        var job = AdapterUnderTest.Job("wan-2.5", "wan2.5-t2v-preview", 1088, 832, 10, options: new Dictionary<string, string> { ["negative_prompt"] = "blurry", ["prompt_extend"] = "false" });
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/api/v1/services/aigc/video-generation/video-synthesis", sent.PathAndQuery);
        Assert.Equal("Bearer:ok", sent.AuthorizationForm);
        var body = sent.Json;
        Assert.Equal("blurry", body.GetProperty("input").GetProperty("negative_prompt").GetString());
        Assert.Equal("1088*832", body.GetProperty("parameters").GetProperty("size").GetString());
        Assert.Equal(10, body.GetProperty("parameters").GetProperty("duration").GetInt32());
        Assert.False(body.GetProperty("parameters").GetProperty("prompt_extend").GetBoolean());
        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal($"/api/v1/tasks/{accepted.UpstreamId}", _emulator.Requests.First(r => r.Method == "GET").PathAndQuery);
        Assert.Equal((1088, 832), (_emulator.Tasks.All.Single().Width, _emulator.Tasks.All.Single().Height));
    }

    [Fact]
    public async Task Submit_WithoutTheAsyncHeader_RefusedByTheEmulator()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_emulator.ApiBaseUrl, "services/aigc/video-generation/video-synthesis"))
        {
            Content = new StringContent("""{"model":"wan2.5-t2v-preview","input":{"prompt":"x"},"parameters":{"size":"1280*720","duration":5}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _emulator.Options.ApiKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(403, (int)response.StatusCode);
        Assert.Contains("AccessDenied", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wan2.5-i2v-preview", "legacy")]
    [InlineData("wan2.7-i2v", "media")]
    public async Task Submit_ImageToVideo_UsesTheGenerationsBodyShape(string model, string shape)
    {
        var job = AdapterUnderTest.Job("wan-2.5", model, 1088, 832, 5, _image, "the astronaut waves");
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.Method == "POST").Json;
        var input = body.GetProperty("input");
        Assert.Equal("720P", body.GetProperty("parameters").GetProperty("resolution").GetString());
        if (shape == "media")
        {
            var media = Assert.Single(input.GetProperty("media").EnumerateArray());
            Assert.Equal("first_frame", media.GetProperty("type").GetString());
            Assert.StartsWith("data:image/", media.GetProperty("url").GetString(), StringComparison.Ordinal);
            Assert.False(input.TryGetProperty("img_url", out _));
        }
        else
        {
            Assert.StartsWith("data:image/", input.GetProperty("img_url").GetString(), StringComparison.Ordinal);
            Assert.False(input.TryGetProperty("media", out _));
        }

        Assert.Equal(shape, _emulator.Tasks.All.Single().Extra["shape"]);
        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
    }

    [Fact]
    public async Task Poll_UnknownTask_FailsAsExpiredNotRunningForever()
    {
        var running = new ProviderJob { Job = AdapterUnderTest.Job("wan-2.5", "wan2.5-t2v-preview", 1280, 720, 5).Job with { UpstreamId = "0385dc79-gone" }, UpstreamModel = "wan2.5-t2v-preview" };
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Contains("UNKNOWN", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_PendingTask_CanceledUpstream()
    {
        await using var queued = new DashScopeEmulator(new EmulatorOptions { ApiKey = "sk-0123456789", QueueTime = TimeSpan.FromMinutes(10) });
        await queued.StartAsync();
        await using var adapter = AdapterUnderTest.Create(new DashScopeProviderFactory(), queued);
        var job = AdapterUnderTest.Job("wan-2.5", "wan2.5-t2v-preview", 1280, 720, 5);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = job.UpstreamModel };

        await adapter.Provider.CancelAsync(running, CancellationToken.None);

        Assert.Equal($"/api/v1/tasks/{accepted.UpstreamId}/cancel", queued.Requests.Single(r => r.PathAndQuery.EndsWith("/cancel", StringComparison.Ordinal)).PathAndQuery);
        var failed = Assert.IsType<PollOutcome.Failed>(await adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Contains("cancelled", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckSupport_ModeSizeOrDurationNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 1280, 720, 5).Job, "wan2.5-t2v-preview"));
        Assert.Contains("image-to-video only", p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 1280, 720, 5).Job, "wan2.5-i2v-preview"), StringComparison.Ordinal);
        Assert.Contains("size 1000x1000", p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 1000, 1000, 5).Job, "wan2.5-t2v-preview"), StringComparison.Ordinal);
        Assert.Contains("duration 7 s", p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 1280, 720, 7).Job, "wan2.5-t2v-preview"), StringComparison.Ordinal);
        Assert.Null(p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 1280, 720, 7).Job, "wan2.7-t2v"));
        Assert.Contains("480P", p.CheckSupport(AdapterUnderTest.Job("wan-2.5", "m", 832, 480, 5).Job, "wan2.7-t2v"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("wan2.7-t2v", "wan2.7-i2v")]
    public async Task Gateway_TextAndImageToVideoInEitherBodyShape_CompleteAtTheRightShape(string? model, string? imageModel)
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("wan", "dashscope", _emulator),
            new() { ["Reelay:Routes:wan-2.5:0:Provider"] = "wan", ["Reelay:Routes:wan-2.5:0:Model"] = model, ["Reelay:Routes:wan-2.5:0:ImageModel"] = imageModel });
        await using var gateway = await ReelayTestServer.StartAsync(settings);

        var text = await GatewayWithEmulators.CreateAsync(gateway, new { model = "wan-2.5", prompt = "a paper boat", seconds = "5", size = "1280x720" });
        var image = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "wan-2.5",
            prompt = "the astronaut waves",
            seconds = "5",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(_image) },
        });

        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, text)).GetProperty("status").GetString());
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, image)).GetProperty("status").GetString());
        var textProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, text);
        Assert.Contains("width=1280", textProbe, StringComparison.Ordinal);
        Assert.Contains("height=720", textProbe, StringComparison.Ordinal);
        var imageProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, image);
        Assert.Contains("width=1088", imageProbe, StringComparison.Ordinal); // 720P at the 4:3 of the 640x480 first frame
        Assert.Contains("height=832", imageProbe, StringComparison.Ordinal);
        Assert.All(_emulator.Tasks.All, t => Assert.Equal(model is null ? "legacy" : "media", t.Extra["shape"]));
    }
}
