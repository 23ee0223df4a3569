using Microsoft.Extensions.Time.Testing;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Engine;

/// <summary>The submit and failover rules as data in, decision out: no clock, no scheduler, no network.</summary>
public sealed class SubmitPolicyTests
{
    private static readonly EngineOptions Options = new() { MaxSubmitAttempts = 3, SubmitRetryDelay = TimeSpan.FromSeconds(2) };
    private static readonly JobRoute Next = new(new FakeProvider(new FakeTimeProvider(), "backup"), "backup-model", false, null);
    private static readonly JobError Busy = new(ErrorCodes.UpstreamUnavailable, "busy");

    private static Job Attempt(int n) => TestJobs.New(status: JobStatus.Submitting) with { SubmitAttempts = n };

    [Fact]
    public void Decide_Accepted_RunsWithTheUpstreamId()
    {
        var decision = SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.Accepted("up-1"), Next, Options, 0.5);

        Assert.Equal(new SubmitDecision.Run("up-1"), decision);
    }

    [Theory]
    [InlineData(ErrorCodes.UpstreamAuth)]
    [InlineData(ErrorCodes.UpstreamQuota)]
    public void Decide_DeploymentSpecificRejectionWithNextDeployment_FailsOver(string code)
    {
        var error = new JobError(code, "refused");

        var decision = SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.Rejected(error), Next, Options, 0.5);

        Assert.Equal(new SubmitDecision.FailOver(Next, error), decision);
    }

    [Fact]
    public void Decide_RejectionMarkedDeploymentSpecificByTheAdapter_FailsOver()
    {
        var error = new JobError(ErrorCodes.InvalidRequest, "this deployment does not take that size");

        var decision = SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.Rejected(error) { DeploymentSpecific = true }, Next, Options, 0.5);

        Assert.IsType<SubmitDecision.FailOver>(decision);
    }

    [Fact]
    public void Decide_DeploymentSpecificRejectionWithoutNextDeployment_Fails()
    {
        var error = new JobError(ErrorCodes.UpstreamAuth, "bad key");

        Assert.Equal(new SubmitDecision.Fail(error), SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.Rejected(error), null, Options, 0.5));
    }

    [Fact]
    public void Decide_DeploymentSpecificRejectionOnLastAttempt_Fails()
    {
        var error = new JobError(ErrorCodes.UpstreamQuota, "no credit");

        Assert.IsType<SubmitDecision.Fail>(SubmitPolicy.Decide(Attempt(3), new SubmitOutcome.Rejected(error), Next, Options, 0.5));
    }

    [Fact]
    public void Decide_ModerationRejection_FailsEvenWithAnotherDeployment()
    {
        var error = new JobError(ErrorCodes.ModerationBlocked, "blocked", Stage: "prompt");

        Assert.Equal(new SubmitDecision.Fail(error), SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.Rejected(error), Next, Options, 0.5));
    }

    [Fact]
    public void Decide_RetryLaterWithNextDeployment_FailsOver()
    {
        Assert.Equal(new SubmitDecision.FailOver(Next, Busy), SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.RetryLater(Busy), Next, Options, 0.5));
    }

    [Fact]
    public void Decide_RetryLaterOnLastAttempt_FailsWithItsReason()
    {
        Assert.Equal(new SubmitDecision.Fail(Busy), SubmitPolicy.Decide(Attempt(3), new SubmitOutcome.RetryLater(Busy), Next, Options, 0.5));
    }

    [Fact]
    public void Decide_RetryLaterWithRetryAfter_WaitsExactlyThat()
    {
        var decision = SubmitPolicy.Decide(Attempt(1), new SubmitOutcome.RetryLater(Busy, TimeSpan.FromSeconds(17)), null, Options, 0.99);

        Assert.Equal(new SubmitDecision.RetryAfter(TimeSpan.FromSeconds(17), Busy), decision);
    }

    [Theory]
    [InlineData(1, 0.5, 2_000)] // SubmitRetryDelay × 2^0, no jitter at the middle sample.
    [InlineData(2, 0.5, 4_000)]
    [InlineData(2, 0.0, 3_200)] // −20 % at the lowest sample.
    [InlineData(2, 1.0, 4_800)] // +20 % at the highest.
    public void Decide_RetryLaterWithoutRetryAfter_BacksOffExponentiallyWithJitter(int attempt, double jitter, double expectedMs)
    {
        var decision = Assert.IsType<SubmitDecision.RetryAfter>(SubmitPolicy.Decide(Attempt(attempt), new SubmitOutcome.RetryLater(Busy), null, Options, jitter));

        Assert.Equal(expectedMs, decision.Delay.TotalMilliseconds, 3);
    }

    [Fact]
    public void Decide_ManyAttempts_BackoffIsCapped()
    {
        var options = new EngineOptions { MaxSubmitAttempts = 100, SubmitRetryDelay = TimeSpan.FromSeconds(2) };

        var decision = Assert.IsType<SubmitDecision.RetryAfter>(SubmitPolicy.Decide(Attempt(40), new SubmitOutcome.RetryLater(Busy), null, options, 0.5));

        Assert.Equal(SubmitPolicy.MaxRetryDelay, decision.Delay);
    }
}
