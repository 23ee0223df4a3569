using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Seedance;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Seedance;
using Reelay.Server.Tests.Providers.Conformance;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Seedance;

/// <summary>The Seedance adapter in the conformance suite, against the Seedance EMULATOR.</summary>
public sealed class SeedanceConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new SeedanceProviderFactory();

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new SeedanceEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("seedance-2-0", "dreamina-seedance-2-0-260128", 1280, 720, 5, prompt: prompt, resolution: "720p"));
}

/// <summary>What is particular to Seedance's wire (Ark's task API), against the Seedance EMULATOR (loopback; never the real service), and through a real gateway.</summary>
public sealed class SeedanceProviderTests : IAsyncLifetime
{
    private const string Model = "dreamina-seedance-2-0-260128";
    private readonly SeedanceEmulator _emulator = new(new EmulatorOptions { ApiKey = "ark-secret-key-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new SeedanceProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(5));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private static ProviderJob Text(int width = 1280, int height = 720, int seconds = 5, IReadOnlyDictionary<string, string>? options = null, string model = Model) =>
        AdapterUnderTest.Job("seedance-2-0", model, width, height, seconds, options: options);

    private ProviderJob Image(string role = "first_frame", string model = Model) =>
        AdapterUnderTest.Job("seedance-2-0", model, 1112, 834, 5, _image, "the astronaut waves", new Dictionary<string, string> { ["image_role"] = role, ["audio"] = "false" });

    [Fact]
    public async Task Submit_TextToVideo_SendsStrictBodyFieldsAndTheVideoHasTheSize()
    {
        var job = Text(options: new Dictionary<string, string> { ["camera_fixed"] = "true", ["audio"] = "true" });
        var seeded = new ProviderJob { Job = job.Job with { Seed = 11 }, UpstreamModel = job.UpstreamModel };
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(seeded, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/api/v3/contents/generations/tasks", sent.PathAndQuery);
        Assert.Equal("Bearer:ok", sent.AuthorizationForm);
        var body = sent.Json;
        Assert.Equal(Model, body.GetProperty("model").GetString());
        var text = Assert.Single(body.GetProperty("content").EnumerateArray());
        Assert.Equal("text", text.GetProperty("type").GetString());
        Assert.Equal("a lighthouse at dusk", text.GetProperty("text").GetString()); // no --rs/--dur prompt flags
        Assert.Equal("720p", body.GetProperty("resolution").GetString());
        Assert.Equal("16:9", body.GetProperty("ratio").GetString());
        Assert.Equal(5, body.GetProperty("duration").GetInt32());
        Assert.Equal(11, body.GetProperty("seed").GetInt64());
        Assert.True(body.GetProperty("camera_fixed").GetBoolean());
        Assert.True(body.GetProperty("generate_audio").GetBoolean());
        Assert.False(body.GetProperty("watermark").GetBoolean());
        Assert.StartsWith("cgt-", accepted.UpstreamId, StringComparison.Ordinal);

        var task = Assert.Single(_emulator.Tasks.All);
        Assert.Equal((1280, 720, 5), (task.Width, task.Height, task.Seconds));
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Contains("/_emulator/videos/", done.Result.Video, StringComparison.Ordinal);
        Assert.Equal($"/api/v3/contents/generations/tasks/{accepted.UpstreamId}", _emulator.Requests.First(r => r.Method == "GET").PathAndQuery);
    }

    [Theory]
    [InlineData("first_frame")]
    [InlineData("reference_image")]
    public async Task Submit_Image_SentAsImageUrlWithTheRole(string role)
    {
        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(Image(role), CancellationToken.None));

        var content = _emulator.Requests.Single(r => r.Method == "POST").Json.GetProperty("content");
        Assert.Equal(2, content.GetArrayLength());
        var image = content[1];
        Assert.Equal("image_url", image.GetProperty("type").GetString());
        Assert.Equal(role, image.GetProperty("role").GetString());
        Assert.StartsWith("data:image/", image.GetProperty("image_url").GetProperty("url").GetString(), StringComparison.Ordinal);
        var task = Assert.Single(_emulator.Tasks.All);
        Assert.Equal((1112, 834), (task.Width, task.Height)); // 720p at 4:3
        Assert.Equal(role, task.Extra["roles"]);
    }

    [Fact]
    public async Task Submit_OutOfRangeDurationUpstream_RejectedAsInvalidRequestNamingTheParam()
    {
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Text(seconds: 20), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("duration", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_QueuedPastExecutionExpiresAfter_FailsAsExpired()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var slow = new SeedanceEmulator(new EmulatorOptions { ApiKey = "ark-key-0123456789", Time = clock, QueueTime = TimeSpan.FromHours(1), RunTime = TimeSpan.FromHours(100) });
        await slow.StartAsync();
        await using var adapter = AdapterUnderTest.Create(new SeedanceProviderFactory(), slow);
        var job = Text();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = Model };
        Assert.Equal(0, Assert.IsType<PollOutcome.Running>(await adapter.Provider.PollAsync(running, CancellationToken.None)).Progress);

        clock.Advance(TimeSpan.FromHours(49)); // past the default 48 h

        var failed = Assert.IsType<PollOutcome.Failed>(await adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamTimeout, failed.Error.Code);
        Assert.Contains("expired", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_QueuedTask_DeletedUpstreamAndThenReportedCancelled()
    {
        await using var queued = new SeedanceEmulator(new EmulatorOptions { ApiKey = "ark-key-0123456789", QueueTime = TimeSpan.FromMinutes(10) });
        await queued.StartAsync();
        await using var adapter = AdapterUnderTest.Create(new SeedanceProviderFactory(), queued);
        var job = Text();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = Model };

        await adapter.Provider.CancelAsync(running, CancellationToken.None);

        Assert.Equal($"/api/v3/contents/generations/tasks/{accepted.UpstreamId}", queued.Requests.Single(r => r.Method == "DELETE").PathAndQuery);
        var failed = Assert.IsType<PollOutcome.Failed>(await adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Contains("cancelled", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_RunningTask_RefusedUpstreamWithoutThrowingAndTheTaskFinishes()
    {
        var job = Text();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        await Task.Delay(250); // past the 100 ms queue time: running
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = Model };

        await _adapter.Provider.CancelAsync(running, CancellationToken.None);

        Assert.Single(_emulator.Requests, r => r.Method == "DELETE");
        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
    }

    [Fact]
    public void CheckSupport_SizeDurationModeOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(Text().Job, Model));
        Assert.Null(p.CheckSupport(Image("reference_image").Job, Model));
        Assert.Contains("size 1248x704", p.CheckSupport(Text(1248, 704).Job, Model), StringComparison.Ordinal);
        Assert.Null(p.CheckSupport(Text(1248, 704).Job, "seedance-1-0-pro-250528")); // the 1.0 series' own 720p 16:9
        Assert.Contains("resolution 1080p", p.CheckSupport(Text(1920, 1080).Job, "dreamina-seedance-2-0-fast-260128"), StringComparison.Ordinal);
        Assert.Contains("duration 16 s", p.CheckSupport(Text(seconds: 16).Job, Model), StringComparison.Ordinal);
        Assert.Contains("duration 13 s", p.CheckSupport(Text(seconds: 13).Job, "seedance-1-5-pro-251215"), StringComparison.Ordinal);
        Assert.Contains("reference_image", p.CheckSupport(Image("reference_image").Job, "seedance-1-5-pro-251215"), StringComparison.Ordinal);
        Assert.Contains("text-to-video only", p.CheckSupport(Image().Job, "seedance-1-0-lite-t2v-250428"), StringComparison.Ordinal);
        Assert.Contains("image-to-video only", p.CheckSupport(Text().Job, "seedance-1-0-lite-i2v-250428"), StringComparison.Ordinal);
        Assert.Contains("audio=true", p.CheckSupport(Text(1248, 704, options: new Dictionary<string, string> { ["audio"] = "true" }).Job, "seedance-1-0-pro-250528"), StringComparison.Ordinal);
        Assert.Contains("private=true", p.CheckSupport(Text(options: new Dictionary<string, string> { ["private"] = "true" }).Job, Model), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_TextAndImageToVideoRoutedToTheEmulator_CompleteAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("ark", "seedance", _emulator),
            new() { ["Reelay:Routes:seedance-2-0:0:Provider"] = "ark" });
        await using var gateway = await ReelayTestServer.StartAsync(settings);

        var text = await GatewayWithEmulators.CreateAsync(gateway, new { model = "seedance-2-0", prompt = "a paper boat", seconds = "4", size = "864x496" });
        var image = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "seedance-2-0",
            prompt = "the astronaut waves",
            seconds = "5",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(_image) },
        });

        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, text)).GetProperty("status").GetString());
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, image)).GetProperty("status").GetString());
        var textProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, text);
        Assert.Contains("width=864", textProbe, StringComparison.Ordinal); // 480p 16:9 in the 2.0 table
        Assert.Contains("height=496", textProbe, StringComparison.Ordinal);
        Assert.Contains("duration=4.0", textProbe, StringComparison.Ordinal);
        var imageProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, image);
        Assert.Contains("width=1112", imageProbe, StringComparison.Ordinal); // 720p at the 4:3 of the 640x480 first frame
        Assert.Contains("height=834", imageProbe, StringComparison.Ordinal);
        var bodies = _emulator.Requests.Where(r => r.Method == "POST").Select(r => r.Json).ToList();
        Assert.All(bodies, b => Assert.Equal(Model, b.GetProperty("model").GetString()));
        Assert.Contains(bodies, b => b.GetProperty("content").EnumerateArray().Any(c => c.TryGetProperty("role", out var r) && r.GetString() == "first_frame"));
    }
}

/// <summary>A clock that moves only when told.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
