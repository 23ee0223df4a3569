using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.OpenAICompatible;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.OpenAICompatible;

/// <summary>The OpenAI-compatible adapter against the OpenAI Videos API EMULATOR (loopback; never the real service), and through real gateways.</summary>
public sealed class OpenAICompatibleProviderTests : IAsyncLifetime
{
    private readonly OpenAICompatibleEmulator _emulator = new(new EmulatorOptions { ApiKey = "sk-openai-secret-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new OpenAICompatibleProviderFactory(), _emulator, o =>
        {
            o.BaseUrl = new Uri(_emulator.BaseUrl, "v1").AbsoluteUri;
            o.Timeout = TimeSpan.FromSeconds(10);
        });
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private AdapterUnderTest Adapter(Action<ProviderInstanceOptions> configure) => AdapterUnderTest.Create(new OpenAICompatibleProviderFactory(), _emulator, o =>
    {
        o.BaseUrl = new Uri(_emulator.BaseUrl, "v1").AbsoluteUri;
        configure(o);
    });

    private static ProviderJob Sora(int width = 720, int height = 1280, int seconds = 4, string prompt = "a lighthouse at dusk") =>
        AdapterUnderTest.Job("sora-2", "sora-2", width, height, seconds, prompt: prompt);

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedMultipartAndSucceeds()
    {
        var job = Sora(1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/v1/videos");
        Assert.Equal("Bearer:ok", sent.AuthorizationForm);
        Assert.StartsWith("multipart/form-data; boundary=", sent.ContentType, StringComparison.Ordinal);
        var fields = _emulator.Tasks.Find(accepted.UpstreamId)!.Extra;
        Assert.Equal(["model", "prompt", "seconds", "size"], fields.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("sora-2", fields["model"]);
        Assert.Equal("a lighthouse at dusk", fields["prompt"]);
        Assert.Equal("8", fields["seconds"]); // a string part, as the API defines seconds
        Assert.Equal("1280x720", fields["size"]);
        Assert.StartsWith("video_", accepted.UpstreamId, StringComparison.Ordinal);

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal(new Uri(_emulator.BaseUrl, $"v1/videos/{accepted.UpstreamId}/content").AbsoluteUri, done.Result.Video);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
        var content = _emulator.Requests.Last(r => r.PathAndQuery.EndsWith("/content", StringComparison.Ordinal));
        Assert.Equal("Bearer:ok", content.AuthorizationForm); // the content endpoint needs the deployment's key
        Assert.Equal("application/binary", _emulator.ContentAcceptHeaders[^1]);
    }

    [Fact]
    public async Task Submit_FirstFrameOfWrongSize_FittedAndSentAsTheInputReferenceFilePart()
    {
        var image = await TestFiles.ImageAsync(1000, 700, "jpg");
        var job = AdapterUnderTest.Job("sora-2", "sora-2", 1280, 720, 4, image);

        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        // The emulator refuses a reference that differs from the size (as Sora does), so acceptance alone shows the fit.
        Assert.Equal("file image/png first-frame.png 1280x720", _emulator.Tasks.Find(accepted.UpstreamId)!.Extra["input_reference"]);
    }

    [Fact]
    public async Task Emulator_InputReferenceOfWrongSize_RefusedWithSorasInpaintError()
    {
        using var http = new HttpClient { BaseAddress = _emulator.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _emulator.Options.ApiKey);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sora-2"), "model" },
            { new StringContent("a cat"), "prompt" },
            { new StringContent("1280x720"), "size" },
        };
        var file = new ByteArrayContent(await TestFiles.ImageAsync(640, 480));
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "input_reference", "frame.png");

        using var response = await http.PostAsync("v1/videos", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("Inpaint image must match the requested width and height", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Submit_QuotaExhaustedAs429InsufficientQuota_RejectedAsUpstreamQuotaNotRetried()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Sora(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamQuota, outcome.Error.Code);
        Assert.Contains("exceeded your current quota", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 1792x1024 is a pro size: sora-2 refuses it (routing would have skipped it; the adapter still classifies).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Sora(1792, 1024), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("'1792x1024'", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_SoraModelWithASeed_SendsNoSeedField()
    {
        // The emulator refuses unknown fields as OpenAI does ("Unrecognized request argument"), so acceptance shows no seed went.
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(new ProviderJob { Job = Sora().Job with { Seed = 42 }, UpstreamModel = "sora-2" }, CancellationToken.None));
        Assert.DoesNotContain("seed", _emulator.Tasks.Find(accepted.UpstreamId)!.Extra.Keys);
    }

    [Fact]
    public async Task Poll_WhileRunning_ReportsTheVideosProgress()
    {
        _emulator.Options.RunTime = TimeSpan.FromSeconds(5); // long enough to be mid-run whatever the machine's load
        var job = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        await Task.Delay(500);
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = job.UpstreamModel };
        var outcome = Assert.IsType<PollOutcome.Running>(await _adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.InRange(outcome.Progress ?? -1, 1, 99);
    }

    [Fact]
    public async Task Poll_UnknownVideo_FailsAsLostTask()
    {
        var running = new ProviderJob { Job = Sora().Job with { UpstreamId = "video_nope" }, UpstreamModel = "sora-2" };
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.Provider.PollAsync(running, CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
        Assert.Contains("HTTP 404", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_ContentExpiredAfterThePoll_ThrowsSoTheEngineRepolls()
    {
        var job = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        _emulator.Faults.ExpiredResultUrls = true;
        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(job, done.Result, Stream.Null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, error.Status);
    }

    [Fact]
    public async Task Download_BeforeCompletion_ThrowsWithTheNotCompletedAnswer()
    {
        var job = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var early = new ResultLocation(new Uri(_emulator.BaseUrl, $"v1/videos/{accepted.UpstreamId}/content").AbsoluteUri, false);
        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(job, early, Stream.Null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
    }

    [Fact]
    public async Task Download_ResultOnAnotherOrigin_NeverReceivesTheKey()
    {
        await using var other = new OpenAICompatibleEmulator(new EmulatorOptions { ApiKey = _emulator.Options.ApiKey, RunTime = TimeSpan.Zero, QueueTime = TimeSpan.Zero });
        await other.StartAsync();
        var elsewhere = new ResultLocation(new Uri(other.BaseUrl, "v1/videos/video_x/content").AbsoluteUri, false);

        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(Sora(), elsewhere, Stream.Null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.Equal("none", Assert.Single(other.Requests).AuthorizationForm);
    }

    [Fact]
    public async Task Cancel_NoCancelInTheApi_CompletesWithoutCallingUpstream()
    {
        var running = new ProviderJob { Job = Sora().Job with { UpstreamId = "video_abc" }, UpstreamModel = "sora-2" };
        await _adapter.Provider.CancelAsync(running, CancellationToken.None);
        Assert.IsType<RecoveryOutcome.Unknown>(await _adapter.Provider.RecoverSubmitAsync(running, CancellationToken.None));
        Assert.Empty(_emulator.Requests);
    }

    [Fact]
    public void CheckSupport_DurationSizeSeedOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Contains("duration 10 s", p.CheckSupport(Sora(seconds: 10).Job, "sora-2"), StringComparison.Ordinal);
        var big = Sora(1792, 1024).Job;
        Assert.Contains("size 1792x1024", p.CheckSupport(big, "sora-2"), StringComparison.Ordinal);
        Assert.Null(p.CheckSupport(big, "sora-2-pro"));
        Assert.Null(p.CheckSupport(big, "sora-2-pro-2025-10-06"));
        Assert.Contains("seed", p.CheckSupport(Sora().Job with { Seed = 7 }, "sora-2"), StringComparison.Ordinal);
        var watermark = AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, options: new Dictionary<string, string> { ["watermark"] = "true" }).Job;
        Assert.Contains("watermark=true", p.CheckSupport(watermark, "sora-2"), StringComparison.Ordinal);
        var off = AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, options: new Dictionary<string, string> { ["watermark"] = "false", ["private"] = "false" }).Job;
        Assert.Null(p.CheckSupport(off, "sora-2"));
        // Another Reelay's sandbox takes any size and length (and a seed).
        Assert.Null(p.CheckSupport(Sora(640, 480, 10).Job with { Seed = 7 }, "sandbox"));
    }

    [Fact]
    public async Task Probe_BaseUrlWithoutTheVersion_SaysTheBaseUrlMustIncludeIt()
    {
        await using var unversioned = AdapterUnderTest.Create(new OpenAICompatibleProviderFactory(), _emulator);
        var probe = await unversioned.Provider.ProbeAsync(CancellationToken.None);
        Assert.False(probe.Ok);
        Assert.Contains("/v1", probe.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_SoraImageToVideoRoutedToTheEmulator_CompletesAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("openai-up", "openai", _emulator),
            new() { ["Reelay:Providers:openai-up:BaseUrl"] = new Uri(_emulator.BaseUrl, "v1").AbsoluteUri, ["Reelay:Routes:sora-2:0:Provider"] = "openai-up" });
        await using var gateway = await ReelayTestServer.StartAsync(settings);
        var image = Convert.ToBase64String(await TestFiles.ImageAsync(640, 480));

        var id = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "sora-2",
            prompt = "waves on a pier",
            seconds = "4",
            size = "1280x720",
            input_reference = new { image_url = "data:image/png;base64," + image },
        });
        var video = await GatewayWithEmulators.WaitAsync(gateway, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(gateway, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        Assert.Contains("duration=4.0", probe, StringComparison.Ordinal);
        var task = Assert.Single(_emulator.Tasks.All);
        Assert.Equal("file image/png first-frame.png 1280x720", task.Extra["input_reference"]); // fitted from 640x480
    }

    [Fact]
    public async Task Gateway_ChainedToAnotherReelaysSandbox_CompletesWithARealMp4()
    {
        await using var back = await ReelayTestServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Reelay:Providers:back:Type"] = "openai",
            ["Reelay:Providers:back:BaseUrl"] = new Uri(back.BaseAddress, "v1").AbsoluteUri,
            ["Reelay:Providers:back:ApiKey"] = back.ApiKey,
            ["Reelay:Providers:back:PollInterval"] = "00:00:00.200",
            ["Reelay:Providers:back:MaxPollInterval"] = "00:00:00.500",
            ["Reelay:Providers:back:MaxRequestsPerSecond"] = "0",
            ["Reelay:Routes:sora-2:0:Provider"] = "back",
            ["Reelay:Routes:sora-2:0:Model"] = "sandbox",
            ["Reelay:Routes:sora-2:0:ImageModel"] = "sandbox",
        };
        await using var front = await ReelayTestServer.StartAsync(settings);

        var id = await GatewayWithEmulators.CreateAsync(front, new { model = "sora-2", prompt = "a relay of gateways", seconds = "4", size = "1280x720" });
        var video = await GatewayWithEmulators.WaitAsync(front, id, TimeSpan.FromSeconds(90));

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(front, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        Assert.Contains("duration=4.0", probe, StringComparison.Ordinal);
        // The back gateway rendered it as its own sandbox job.
        var list = JsonDocument.Parse(await back.Http.GetStringAsync("/v1/videos")).RootElement.GetProperty("data");
        var upstream = Assert.Single(list.EnumerateArray());
        Assert.Equal("sandbox", upstream.GetProperty("model").GetString());
        Assert.Equal("completed", upstream.GetProperty("status").GetString());
    }
}
