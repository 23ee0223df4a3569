using System.Net;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Vidu;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.Vidu;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Vidu;

/// <summary>The Vidu adapter against the Vidu EMULATOR (loopback; never the real service), and through a real gateway.</summary>
public sealed class ViduProviderTests : IAsyncLifetime
{
    private readonly ViduEmulator _emulator = new(new EmulatorOptions { ApiKey = "vda_secret_key_123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new ViduProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private ProviderJob Img2Video(int seconds = 5, string prompt = "the astronaut waves", IReadOnlyDictionary<string, string>? options = null, string resolution = "720p", string model = "viduq2-pro") =>
        AdapterUnderTest.Job(model, model, 960, 720, seconds, _image, prompt, options ?? new Dictionary<string, string> { ["movement_amplitude"] = "auto", ["bgm"] = "false" }, resolution);

    [Fact]
    public async Task Submit_ImageToVideo_SendsDocumentedWireFormatAndSucceeds()
    {
        var job = Img2Video(options: new Dictionary<string, string> { ["movement_amplitude"] = "large", ["bgm"] = "false" });
        var fixedSeed = new ProviderJob { Job = job.Job with { Seed = 1234 }, UpstreamModel = job.UpstreamModel, OpenFirstFrame = job.OpenFirstFrame };
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(fixedSeed, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.PathAndQuery == "/ent/v2/img2video");
        Assert.Equal("Token:ok", sent.AuthorizationForm); // "Authorization: Token <key>", not Bearer
        var body = sent.Json;
        Assert.Equal("viduq2-pro", body.GetProperty("model").GetString());
        var images = body.GetProperty("images");
        Assert.Equal(1, images.GetArrayLength());
        Assert.StartsWith("data:image/png;base64,", images[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("the astronaut waves", body.GetProperty("prompt").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("duration").ValueKind);
        Assert.Equal(5, body.GetProperty("duration").GetInt32());
        Assert.Equal(1234, body.GetProperty("seed").GetInt64());
        Assert.Equal("720p", body.GetProperty("resolution").GetString());
        Assert.Equal("large", body.GetProperty("movement_amplitude").GetString());
        Assert.Equal(job.Job.Id, body.GetProperty("payload").GetString());
        Assert.False(body.TryGetProperty("bgm", out _)); // img2video has no bgm (Vidu refuses unwanted fields)
        Assert.False(body.TryGetProperty("aspect_ratio", out _));

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Contains("/ent/v2/tasks/" + accepted.UpstreamId + "/creations", _emulator.Requests[^1].PathAndQuery, StringComparison.Ordinal);
        Assert.Equal("Token:ok", _emulator.Requests[^1].AuthorizationForm);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_TextToVideo_SendsAspectRatioAndBgmToText2Video()
    {
        var job = AdapterUnderTest.Job("viduq2", "viduq2", 720, 1280, 4, options: new Dictionary<string, string> { ["bgm"] = "true", ["movement_amplitude"] = "small" }, resolution: "720p");

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.PathAndQuery == "/ent/v2/text2video").Json;
        Assert.Equal("viduq2", body.GetProperty("model").GetString());
        Assert.Equal("9:16", body.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720p", body.GetProperty("resolution").GetString());
        Assert.True(body.GetProperty("bgm").GetBoolean());
        Assert.Equal("small", body.GetProperty("movement_amplitude").GetString());
        Assert.False(body.TryGetProperty("images", out _));
        Assert.False(body.TryGetProperty("seed", out _)); // no seed asked: Vidu picks one
    }

    [Fact]
    public async Task Submit_CreditInsufficient_RejectedAsUpstreamQuota()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Img2Video(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamQuota, outcome.Error.Code);
        Assert.Contains("CreditInsufficient", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 11 s is beyond q2's 1-10 (routing would have skipped it; the adapter still classifies Vidu's FieldInvalid).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Img2Video(seconds: 11), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("duration 11", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_ModerationAtNinetyPercent_FailsAsModerationOfTheOutput()
    {
        _emulator.Faults.ModerateAtNinety = true;
        var job = Img2Video();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal(ErrorCodes.ModerationBlocked, failed.Error.Code);
        Assert.Equal("output", failed.Error.Stage);
        Assert.Contains("CreationPolicyViolation", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_GenerationFails_FailedWithTheirErrCode()
    {
        var job = Img2Video(prompt: "[fail] a boat");
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
        Assert.Contains("InternalServiceFailure", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_ExpiredResultUrl_ThrowsAndTheNextPollSignsAFreshOne()
    {
        var job = Img2Video();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        _emulator.Faults.ExpiredResultUrls = true;
        var stale = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(job, stale.Result, Stream.Null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, error.Status);

        // What the engine does next: poll again, which returns a freshly signed URL that downloads.
        _emulator.Faults.ExpiredResultUrls = false;
        var fresh = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.NotEqual(stale.Result.Video, fresh.Result.Video);
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, fresh.Result, video, CancellationToken.None);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Download_CreationOnAnotherOrigin_NeverReceivesTheKey()
    {
        await using var cdn = new ViduEmulator(new EmulatorOptions { ApiKey = _emulator.Options.ApiKey });
        await cdn.StartAsync();
        var elsewhere = new ResultLocation(new Uri(cdn.BaseUrl, "ent/v2/tasks/1/creations").AbsoluteUri, false);

        await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(Img2Video(), elsewhere, Stream.Null, CancellationToken.None));

        Assert.Equal("none", Assert.Single(cdn.Requests).AuthorizationForm);
    }

    [Fact]
    public void CheckSupport_ModeDurationResolutionOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(Img2Video().Job, "viduq2-pro"));
        Assert.Null(p.CheckSupport(Img2Video().Job, "viduq2-turbo"));
        Assert.Contains("duration 11 s", p.CheckSupport(Img2Video(seconds: 11).Job, "viduq2-pro"), StringComparison.Ordinal);
        Assert.Contains("resolution 360p", p.CheckSupport(Img2Video(resolution: "360p").Job, "viduq2-pro"), StringComparison.Ordinal);
        Assert.Contains("resolution 540p", p.CheckSupport(Img2Video(resolution: "540p").Job, "viduq2-pro-fast"), StringComparison.Ordinal);
        var text = AdapterUnderTest.Job("viduq2-pro", "viduq2-pro", 1280, 720, 5, resolution: "720p").Job;
        Assert.Contains("image-to-video only", p.CheckSupport(text, "viduq2-pro"), StringComparison.Ordinal);
        Assert.Null(p.CheckSupport(text, "viduq2"));
        Assert.Contains("aspect ratio 21:9", p.CheckSupport(text with { AspectRatio = "21:9" }, "viduq2"), StringComparison.Ordinal);
        var bgm = Img2Video(options: new Dictionary<string, string> { ["bgm"] = "true" }).Job;
        Assert.Contains("bgm=true", p.CheckSupport(bgm, "viduq2-pro"), StringComparison.Ordinal);
        var priv = Img2Video(options: new Dictionary<string, string> { ["private"] = "true" }).Job;
        Assert.Contains("private=true", p.CheckSupport(priv, "viduq2-pro"), StringComparison.Ordinal);
        var watermark = Img2Video(options: new Dictionary<string, string> { ["watermark"] = "true", ["private"] = "false" }).Job;
        Assert.Null(p.CheckSupport(watermark, "viduq2-pro"));
        Assert.Contains("4 or 8", p.CheckSupport(Img2Video(seconds: 5).Job, "vidu2.0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_NoCancelUsed_CompletesWithoutCallingUpstream()
    {
        var running = new ProviderJob { Job = Img2Video().Job with { UpstreamId = "1" }, UpstreamModel = "viduq2-pro" };
        await _adapter.Provider.CancelAsync(running, CancellationToken.None);
        Assert.IsType<RecoveryOutcome.Unknown>(await _adapter.Provider.RecoverSubmitAsync(running, CancellationToken.None));
        Assert.Empty(_emulator.Requests);
    }

    [Fact]
    public async Task Gateway_ViduQ2ProRoutedToTheEmulator_CompletesAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("vidu-up", "vidu", _emulator),
            new() { ["Reelay:Routes:viduq2-pro:0:Provider"] = "vidu-up" });
        await using var gateway = await ReelayTestServer.StartAsync(settings);

        var id = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "viduq2-pro",
            prompt = "the astronaut waves",
            seconds = "5",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(_image) },
        });
        var video = await GatewayWithEmulators.WaitAsync(gateway, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(gateway, id);
        Assert.Contains("width=960", probe, StringComparison.Ordinal); // 720p at the 4:3 of the 640x480 first frame
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        Assert.Contains("duration=5.0", probe, StringComparison.Ordinal);
        Assert.Equal($"reelay-{id}-1", Assert.Single(_emulator.Tasks.All).Extra["payload"]); // the attempt's client reference
    }
}
