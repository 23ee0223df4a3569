using System.Net;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.ModelVerse;

/// <summary>The ModelVerse adapter against the ModelVerse EMULATOR (loopback; never the real service).</summary>
public sealed class ModelVerseProviderTests : IAsyncLifetime
{
    private readonly ModelVerseEmulator _emulator = new(new EmulatorOptions { ApiKey = "mv-secret-key-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new ModelVerseProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(2));
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_SoraTextToVideo_SendsDocumentedWireFormatAndSucceeds()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit");
        Assert.Equal("raw:ok", sent.AuthorizationForm); // "Authorization: <key>" with no Bearer, as documented
        Assert.Equal("openai/sora-2/text-to-video", sent.Json.GetProperty("model").GetString());
        Assert.Equal("a lighthouse at dusk", sent.Json.GetProperty("input").GetProperty("prompt").GetString());
        Assert.Equal("1280x720", sent.Json.GetProperty("parameters").GetProperty("size").GetString());
        Assert.Equal(JsonValueKind.Number, sent.Json.GetProperty("parameters").GetProperty("duration").ValueKind);
        Assert.Equal(8, sent.Json.GetProperty("parameters").GetProperty("duration").GetInt32());

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_SoraFirstFrameOfWrongSize_FittedToTheVideoSizeSoUpstreamAccepts()
    {
        var image = await TestFiles.ImageAsync(1000, 700, "jpg");
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/image-to-video", 1280, 720, 4, image);

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit").Json;
        var dataUri = sent.GetProperty("input").GetProperty("first_frame_url").GetString()!;
        Assert.StartsWith("data:image/png;base64,", dataUri, StringComparison.Ordinal);
        var info = Reelay.Media.ImageInfo.Sniff(Convert.FromBase64String(dataUri[(dataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]));
        Assert.Equal((1280, 720), (info!.Width, info.Height));
    }

    [Fact]
    public async Task Submit_ViduOnModelVerse_SendsViduTypeAndOptions()
    {
        var image = await TestFiles.ImageAsync(640, 480);
        var job = AdapterUnderTest.Job("viduq2-pro", "viduq2-pro", 960, 720, 5, image, options: new Dictionary<string, string> { ["movement_amplitude"] = "large", ["bgm"] = "true" }, resolution: "720p");

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var p = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit").Json.GetProperty("parameters");
        Assert.Equal("img2video", p.GetProperty("vidu_type").GetString());
        Assert.Equal("720p", p.GetProperty("resolution").GetString());
        Assert.Equal("large", p.GetProperty("movement_amplitude").GetString());
        Assert.True(p.GetProperty("bgm").GetBoolean());
    }

    [Fact]
    public async Task Submit_RateLimitedWithRetryAfter_RetryLaterWithThatDelay()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.RateLimited(TimeSpan.FromSeconds(7)));
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamRateLimited, outcome.Reason.Code);
        Assert.Equal(TimeSpan.FromSeconds(7), outcome.After);
    }

    [Theory]
    [InlineData("server_error", ErrorCodes.UpstreamUnavailable)]
    [InlineData("reset", ErrorCodes.UpstreamUnavailable)]
    [InlineData("hang", ErrorCodes.UpstreamTimeout)]
    public async Task Submit_TransientFailure_RetryLaterNotRejected(string fault, string code)
    {
        _emulator.Faults.Add(FaultScope.Submit, fault switch
        {
            "server_error" => new Fault.ServerError(503),
            "reset" => new Fault.ConnectionReset(),
            _ => new Fault.Hang(),
        });
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(code, outcome.Reason.Code);
    }

    [Fact]
    public async Task Submit_WrongKey_RejectedAsUpstreamAuthWithoutTheKey()
    {
        await using var wrong = AdapterUnderTest.Create(new ModelVerseProviderFactory(), _emulator, o => o.ApiKey = "not-the-right-key-999");
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await wrong.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamAuth, outcome.Error.Code);
        Assert.DoesNotContain("not-the-right-key-999", outcome.Error.Message, StringComparison.Ordinal);
        Assert.Equal("raw:wrong", _emulator.Requests[^1].AuthorizationForm);
    }

    [Fact]
    public async Task Submit_QuotaExhausted_RejectedAsUpstreamQuota()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamQuota, outcome.Error.Code);
    }

    [Fact]
    public async Task Submit_MalformedJsonOn200_OutcomeUnknownNotResubmitted()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.MalformedJson());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, outcome.Error.Code);
    }

    [Fact]
    public async Task Submit_UpstreamUnreachable_RetryLater()
    {
        await using var nowhere = AdapterUnderTest.Create(new ModelVerseProviderFactory(), _emulator, o => o.BaseUrl = "http://127.0.0.1:9/");
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await nowhere.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, outcome.Reason.Code);
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 1792x1024 is a pro size: the non-pro model refuses it (routing would have skipped it; the adapter still classifies).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 1792, 1024), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("parameters.size", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate_limit")]
    [InlineData("server_error")]
    [InlineData("malformed_json")]
    [InlineData("reset")]
    [InlineData("hang")]
    public async Task Poll_TransientFailure_RetryLaterNeverAFailedJob(string fault)
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        _emulator.Faults.Add(FaultScope.Poll, fault switch
        {
            "rate_limit" => new Fault.RateLimited(TimeSpan.FromSeconds(2)),
            "server_error" => new Fault.ServerError(),
            "malformed_json" => new Fault.MalformedJson(),
            "reset" => new Fault.ConnectionReset(),
            _ => new Fault.Hang(),
        });
        var running = new ProviderJob { Job = job.Job with { UpstreamId = accepted.UpstreamId }, UpstreamModel = job.UpstreamModel };
        var outcome = Assert.IsType<PollOutcome.RetryLater>(await _adapter.Provider.PollAsync(running, CancellationToken.None));
        if (fault == "rate_limit")
        {
            Assert.Equal(TimeSpan.FromSeconds(2), outcome.After);
        }
    }

    [Fact]
    public async Task Poll_ModerationAtNinetyPercent_FailsAsModerationOfTheOutput()
    {
        _emulator.Faults.ModerateAtNinety = true;
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal(ErrorCodes.ModerationBlocked, failed.Error.Code);
        Assert.Equal("output", failed.Error.Stage);
    }

    [Fact]
    public async Task Poll_GenerationFails_FailedWithTheirReason()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, prompt: "[fail] a boat");
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
        Assert.Contains("Video generation failed", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_ExpiredResultUrl_ThrowsSoTheEngineRepollsForAFreshOne()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        _emulator.Faults.ExpiredResultUrls = true;
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(job, done.Result, Stream.Null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, error.Status);
    }

    [Fact]
    public async Task CheckSupport_DurationOrSizeNotOffered_SaysWhy()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, seconds: 10).Job;
        Assert.Contains("duration 10 s", _adapter.Provider.CheckSupport(job, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
        var big = AdapterUnderTest.Job("sora-2-pro", "openai/sora-2/text-to-video", 1792, 1024).Job;
        Assert.Contains("size 1792x1024", _adapter.Provider.CheckSupport(big, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
        Assert.Null(_adapter.Provider.CheckSupport(big, "openai/sora-2/text-to-video-pro"));
        var watermark = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, options: new Dictionary<string, string> { ["watermark"] = "true" }).Job;
        Assert.Contains("watermark", _adapter.Provider.CheckSupport(watermark, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_RightAndWrongKey_ReportedWithoutTheKey()
    {
        Assert.True((await _adapter.Provider.ProbeAsync(CancellationToken.None)).Ok);
        await using var wrong = AdapterUnderTest.Create(new ModelVerseProviderFactory(), _emulator, o => o.ApiKey = "wrong-key-abcdef-123");
        var probe = await wrong.Provider.ProbeAsync(CancellationToken.None);
        Assert.False(probe.Ok);
        Assert.DoesNotContain("wrong-key-abcdef-123", probe.Detail, StringComparison.Ordinal);
    }
}
