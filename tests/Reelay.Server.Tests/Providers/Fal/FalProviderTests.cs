using Reelay.Emulators.Kernel;
using Reelay.Emulators.Fal;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Fal;
using Reelay.Server.Tests.Providers.Conformance;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Fal;

/// <summary>The fal adapter in the conformance suite, against the fal queue EMULATOR.</summary>
public sealed class FalConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new FalProviderFactory();

    protected override string? WrongKeyAuthForm => "Key:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new FalEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("veo-3.1", "fal-ai/veo3.1", 1280, 720, 8, prompt: prompt));
}

/// <summary>What is particular to fal's queue (any model id, result read before success, cancel), against the fal EMULATOR (loopback; never fal), and through a real gateway.</summary>
public sealed class FalProviderTests : IAsyncLifetime
{
    private readonly FalEmulator _emulator = new(new EmulatorOptions { ApiKey = "fal-key-id:fal-key-secret-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new FalProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_VeoModel_SendsItsInputsAndReadsTheResultBeforeSuccess()
    {
        var job = AdapterUnderTest.Job("veo-3.1", "fal-ai/veo3.1", 720, 1280, 6, options: new Dictionary<string, string> { ["audio"] = "true" });
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/fal-ai/veo3.1", sent.PathAndQuery);
        Assert.Equal("Key:ok", sent.AuthorizationForm);
        var body = sent.Json;
        Assert.Equal("6s", body.GetProperty("duration").GetString()); // Veo ids spell seconds with an s
        Assert.Equal("9:16", body.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720p", body.GetProperty("resolution").GetString());
        Assert.True(body.GetProperty("generate_audio").GetBoolean());

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        var gets = _emulator.Requests.Where(r => r.Method == "GET").Select(r => r.PathAndQuery).ToList();
        Assert.Contains($"/fal-ai/veo3.1/requests/{accepted.UpstreamId}/status?logs=0", gets);
        Assert.Equal($"/fal-ai/veo3.1/requests/{accepted.UpstreamId}", gets[^1]); // the result, read after COMPLETED
        Assert.Contains("/_emulator/videos/", done.Result.Video, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ModelWithASubPath_PollsUnderOwnerAndAppOnly()
    {
        const string Model = "bytedance/seedance-2.0/image-to-video";
        var job = AdapterUnderTest.Job("seedance-2-0", Model, 1112, 834, 5, _image, "the astronaut waves", new Dictionary<string, string> { ["camera_fixed"] = "true" });
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/" + Model).Json;
        Assert.Equal("5", body.GetProperty("duration").GetString());
        Assert.StartsWith("data:image/", body.GetProperty("image_url").GetString(), StringComparison.Ordinal);
        Assert.Equal("4:3", body.GetProperty("aspect_ratio").GetString());
        Assert.True(body.GetProperty("camera_fixed").GetBoolean());
        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.All(_emulator.Requests.Where(r => r.Method == "GET"), r => Assert.StartsWith($"/bytedance/seedance-2.0/requests/{accepted.UpstreamId}", r.PathAndQuery, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_WrongInputType_RejectedAsInvalidRequestNamingTheField()
    {
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("x", "fal-ai/some-model/image-to-video", 1280, 720, 5), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("image_url", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_QueuedRequest_CancelledUpstreamAndThenFailed()
    {
        await using var queued = new FalEmulator(new EmulatorOptions { ApiKey = "k-0123456789", QueueTime = TimeSpan.FromMinutes(10) });
        await queued.StartAsync();
        await using var adapter = AdapterUnderTest.Create(new FalProviderFactory(), queued);
        var job = AdapterUnderTest.Job("veo-3.1", "fal-ai/veo3.1", 1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = job.UpstreamModel };
        Assert.Equal(0, Assert.IsType<PollOutcome.Running>(await adapter.Provider.PollAsync(running, CancellationToken.None)).Progress);

        await adapter.Provider.CancelAsync(running, CancellationToken.None);

        Assert.Equal($"/fal-ai/veo3.1/requests/{accepted.UpstreamId}/cancel", queued.Requests.Single(r => r.Method == "PUT").PathAndQuery);
        var failed = Assert.IsType<PollOutcome.Failed>(await adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Contains("cancelled", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckSupport_ModeDurationTierOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(AdapterUnderTest.Job("veo-3.1", "fal-ai/veo3.1", 1280, 720, 8).Job, "fal-ai/veo3.1"));
        Assert.Contains("image-to-video only", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", "m", 1280, 720, 8).Job, "fal-ai/veo3.1/image-to-video"), StringComparison.Ordinal);
        Assert.Contains("4, 6 or 8 s", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", "m", 1280, 720, 5).Job, "fal-ai/veo3.1"), StringComparison.Ordinal);
        Assert.Contains("resolution 720p", p.CheckSupport(AdapterUnderTest.Job("k", "m", 1280, 720, 5).Job, "fal-ai/kling-video/v2.1/pro/text-to-video"), StringComparison.Ordinal);
        Assert.Contains("camera_fixed=true", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", "m", 1280, 720, 8, options: new Dictionary<string, string> { ["camera_fixed"] = "true" }).Job, "fal-ai/veo3.1"), StringComparison.Ordinal);
        Assert.Contains("not a fal model id", p.CheckSupport(AdapterUnderTest.Job("veo-3.1", "m", 1280, 720, 8).Job, "veo3"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_TextAndImageToVideoRoutedToTheEmulator_CompleteAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("fal", "fal", _emulator),
            new() { ["Reelay:Routes:veo-3.1:0:Provider"] = "fal" });
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
        Assert.Contains(_emulator.Requests, r => r.Method == "POST" && r.PathAndQuery == "/fal-ai/veo3.1/image-to-video");
    }
}
