using System.Net;
using Reelay.Emulators.Kernel;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;

namespace Reelay.Server.Tests.Providers.Conformance;

/// <summary>
/// The one conformance suite every provider adapter passes against its EMULATOR (loopback; never the real service):
/// success, each failure class, 429 with Retry-After, 5xx, malformed body, hang, expired result URL, moderation at 90 %,
/// and a wrong key. A provider joins by deriving a small fixture class (its factory, its emulator, a job it accepts);
/// its own folder keeps only the tests of what is particular to its wire format.
/// </summary>
public abstract class ProviderConformanceTests : IAsyncLifetime
{
    private AdapterUnderTest _adapter = null!;

    protected ProviderConformanceTests()
    {
        Emulator = CreateEmulator(new EmulatorOptions { ApiKey = ApiKey, RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    }

    /// <summary>The emulator under test (started before each test).</summary>
    protected UpstreamEmulator Emulator { get; }

    /// <summary>The adapter's factory.</summary>
    protected abstract IProviderFactory Factory { get; }

    /// <summary>The key the emulator accepts, in the provider's own shape.</summary>
    protected virtual string ApiKey => "conformance-secret-key-123456";

    /// <summary>A well-formed key the emulator does not accept.</summary>
    protected virtual string WrongKey => "not-the-right-key-999";

    /// <summary>How the emulator records the wrong key's Authorization form ("Bearer:wrong"); null when the credential is not an Authorization header.</summary>
    protected abstract string? WrongKeyAuthForm { get; }

    /// <summary>True when an expired result shows at the poll (the adapter fails the job) rather than at the download.</summary>
    protected virtual bool ExpiredResultFailsAtPoll => false;

    /// <summary>Creates the (unstarted) emulator.</summary>
    protected abstract UpstreamEmulator CreateEmulator(EmulatorOptions options);

    /// <summary>Instance settings beyond the defaults (a base URL with a version path, for example).</summary>
    protected virtual void Configure(ProviderInstanceOptions options)
    {
    }

    /// <summary>A job this provider accepts as it is; <paramref name="prompt"/> may carry the emulator's "[fail]" marker.</summary>
    protected abstract Task<ProviderJob> JobAsync(string prompt = "a lighthouse at dusk");

    public async Task InitializeAsync()
    {
        await Emulator.StartAsync();
        // Generous for a loaded machine; the hang tests use an impatient adapter of their own.
        _adapter = Adapter(o => o.Timeout = TimeSpan.FromSeconds(10));
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await Emulator.DisposeAsync();
    }

    private AdapterUnderTest Adapter(Action<ProviderInstanceOptions>? more = null) => AdapterUnderTest.Create(Factory, Emulator, o =>
    {
        Configure(o);
        more?.Invoke(o);
    });

    private async Task<(ProviderJob Job, string UpstreamId)> AcceptedAsync(string prompt = "a lighthouse at dusk")
    {
        var job = await JobAsync(prompt);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));
        return (job, accepted.UpstreamId);
    }

    private static ProviderJob Running(ProviderJob job, string upstreamId) =>
        new() { Job = job.Job with { UpstreamId = upstreamId }, UpstreamModel = job.UpstreamModel, OpenFirstFrame = job.OpenFirstFrame };

    [Fact]
    public async Task Submit_Success_AcceptedPolledToSuccessAndDownloadsAnMp4()
    {
        var (job, id) = await AcceptedAsync();
        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, id));
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_RateLimitedWithRetryAfter_RetryLaterWithThatDelay()
    {
        Emulator.Faults.Add(FaultScope.Submit, new Fault.RateLimited(TimeSpan.FromSeconds(7)));
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await _adapter.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamRateLimited, outcome.Reason.Code);
        Assert.Equal(TimeSpan.FromSeconds(7), outcome.After);
    }

    [Theory]
    [InlineData("server_error", ErrorCodes.UpstreamUnavailable)]
    [InlineData("gateway_timeout", ErrorCodes.UpstreamTimeout)]
    [InlineData("reset", ErrorCodes.UpstreamUnavailable)]
    [InlineData("hang", ErrorCodes.UpstreamTimeout)]
    public async Task Submit_TransientFailure_RetryLaterNotRejected(string fault, string code)
    {
        Emulator.Faults.Add(FaultScope.Submit, fault switch
        {
            "server_error" => new Fault.ServerError(503),
            "gateway_timeout" => new Fault.ServerError(504),
            "reset" => new Fault.ConnectionReset(),
            _ => new Fault.Hang(),
        });
        // Only the hang needs a short timeout; the others answer at once, and a loaded machine must not turn them into timeouts.
        await using var impatient = Adapter(o => o.Timeout = TimeSpan.FromSeconds(fault == "hang" ? 1 : 10));
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await impatient.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(code, outcome.Reason.Code);
    }

    [Fact]
    public async Task Submit_WrongKey_RejectedAsUpstreamAuthWithoutTheKey()
    {
        await using var wrong = Adapter(o => o.ApiKey = WrongKey);
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await wrong.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamAuth, outcome.Error.Code);
        Assert.DoesNotContain(WrongKey, outcome.Error.Message, StringComparison.Ordinal);
        if (WrongKeyAuthForm is { } form)
        {
            Assert.Equal(form, Emulator.Requests[^1].AuthorizationForm);
        }
    }

    [Fact]
    public async Task Submit_QuotaExhausted_RejectedAsUpstreamQuota()
    {
        Emulator.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamQuota, outcome.Error.Code);
    }

    [Fact]
    public async Task Submit_MalformedJsonOn200_OutcomeUnknownNotResubmitted()
    {
        Emulator.Faults.Add(FaultScope.Submit, new Fault.MalformedJson());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, outcome.Error.Code);
        Assert.Equal(1, Emulator.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task Submit_UpstreamUnreachable_RetryLater()
    {
        await using var nowhere = Adapter(o => o.BaseUrl = "http://127.0.0.1:9/");
        var outcome = Assert.IsType<SubmitOutcome.RetryLater>(await nowhere.Provider.SubmitAsync(await JobAsync(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, outcome.Reason.Code);
    }

    [Theory]
    [InlineData("rate_limit")]
    [InlineData("server_error")]
    [InlineData("malformed_json")]
    [InlineData("reset")]
    [InlineData("hang")]
    [InlineData("unauthorized")]
    public async Task Poll_TransientFailure_RetryLaterNeverAFailedJob(string fault)
    {
        var (job, id) = await AcceptedAsync();
        Emulator.Faults.Add(FaultScope.Poll, fault switch
        {
            "rate_limit" => new Fault.RateLimited(TimeSpan.FromSeconds(2)),
            "server_error" => new Fault.ServerError(),
            "malformed_json" => new Fault.MalformedJson(),
            "reset" => new Fault.ConnectionReset(),
            "unauthorized" => new Fault.Unauthorized(),
            _ => new Fault.Hang(),
        });
        await using var impatient = Adapter(o => o.Timeout = TimeSpan.FromSeconds(fault == "hang" ? 1 : 10));
        var outcome = Assert.IsType<PollOutcome.RetryLater>(await impatient.Provider.PollAsync(Running(job, id), CancellationToken.None));
        if (fault == "rate_limit")
        {
            Assert.Equal(TimeSpan.FromSeconds(2), outcome.After);
        }
    }

    [Fact]
    public async Task Poll_ModerationAtNinetyPercent_FailsAsModerationOfTheOutput()
    {
        Emulator.Faults.ModerateAtNinety = true;
        var (job, id) = await AcceptedAsync();
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, id));
        Assert.Equal(ErrorCodes.ModerationBlocked, failed.Error.Code);
        Assert.Equal("output", failed.Error.Stage);
    }

    [Fact]
    public async Task Poll_GenerationFails_FailedAsUpstreamUnavailableWithAReason()
    {
        var (job, id) = await AcceptedAsync("[fail] a boat");
        var failed = Assert.IsType<PollOutcome.Failed>(await _adapter.PollUntilDoneAsync(job, id));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
        Assert.DoesNotContain("without a reason", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_ExpiredResultUrl_NeverAnEmptySuccess()
    {
        var (job, id) = await AcceptedAsync();
        Emulator.Faults.ExpiredResultUrls = true;
        var outcome = await _adapter.PollUntilDoneAsync(job, id);
        if (ExpiredResultFailsAtPoll)
        {
            var failed = Assert.IsType<PollOutcome.Failed>(outcome);
            Assert.Equal(ErrorCodes.UpstreamUnavailable, failed.Error.Code);
            Assert.Contains("expired", failed.Error.Message, StringComparison.Ordinal);
            return;
        }

        // The download throws, so the engine polls again for a freshly signed URL.
        var done = Assert.IsType<PollOutcome.Succeeded>(outcome);
        var error = await Assert.ThrowsAsync<UpstreamHttpException>(() => _adapter.Provider.DownloadAsync(job, done.Result, Stream.Null, CancellationToken.None));
        Assert.True(error.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Gone, $"HTTP {(int)error.Status}");
    }

    [Fact]
    public async Task Probe_RightAndWrongKey_ReportedWithoutTheKey()
    {
        var requests = Emulator.RequestCount;
        var ok = await _adapter.Provider.ProbeAsync(CancellationToken.None);
        Assert.True(ok.Ok, ok.Detail);
        await using var wrong = Adapter(o => o.ApiKey = WrongKey);
        var probe = await wrong.Provider.ProbeAsync(CancellationToken.None);
        Assert.False(probe.Ok, probe.Detail);
        Assert.DoesNotContain(WrongKey, probe.Detail, StringComparison.Ordinal);
        Assert.Empty(Emulator.Tasks.All); // a probe starts nothing
        Assert.True(Emulator.RequestCount > requests);
    }
}
