using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Tests.Storage;

namespace Reelay.Tests.Engine;

/// <summary>The adaptive polling rules as data in, decision out: no clock, no scheduler, no network.</summary>
public sealed class PollPolicyTests
{
    private static readonly PollSchedule Schedule = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), Growth: 2, Jitter: 0.2);

    private static Job Running(int progress) => TestJobs.New(status: JobStatus.Running) with { Progress = progress, UpstreamId = "up-1" };

    [Fact]
    public void Decide_RunningWithoutNewProgress_GrowsTheInterval()
    {
        var decision = PollPolicy.Decide(Running(30), new PollOutcome.Running(30), attempt: 1, Schedule, 0.5);

        Assert.Equal(new PollDecision.Run(TimeSpan.FromSeconds(4), 2, null), decision);
    }

    [Fact]
    public void Decide_RunningWithMoreProgress_StoresItAndStartsTheIntervalAgain()
    {
        var decision = PollPolicy.Decide(Running(30), new PollOutcome.Running(45), attempt: 3, Schedule, 0.5);

        Assert.Equal(new PollDecision.Run(TimeSpan.FromSeconds(1), 0, 45), decision);
    }

    [Theory]
    [InlineData(100, 99)]
    [InlineData(250, 99)]
    public void Decide_ProgressAbove99_IsClampedTo99(int reported, int stored)
    {
        var decision = Assert.IsType<PollDecision.Run>(PollPolicy.Decide(Running(10), new PollOutcome.Running(reported), 0, Schedule, 0.5));

        Assert.Equal(stored, decision.Progress);
    }

    [Fact]
    public void Decide_ProgressGoingBackwards_IsNotStored()
    {
        var decision = Assert.IsType<PollDecision.Run>(PollPolicy.Decide(Running(60), new PollOutcome.Running(20), 0, Schedule, 0.5));

        Assert.Null(decision.Progress);
        Assert.Equal(1, decision.Attempt);
    }

    [Fact]
    public void Decide_ManyPollsWithoutProgress_IntervalIsCappedAtMax()
    {
        var decision = Assert.IsType<PollDecision.Run>(PollPolicy.Decide(Running(0), new PollOutcome.Running(null), 50, Schedule, 0.5));

        Assert.Equal(Schedule.Max, decision.Delay);
    }

    [Theory]
    [InlineData(0.0, 800)]
    [InlineData(1.0, 1_200)]
    public void Decide_Jitter_SpreadsTheIntervalByTheSchedulesShare(double jitter, double expectedMs)
    {
        var decision = Assert.IsType<PollDecision.Run>(PollPolicy.Decide(Running(0), new PollOutcome.Running(5), 4, Schedule, jitter));

        Assert.Equal(expectedMs, decision.Delay.TotalMilliseconds, 3);
    }

    [Fact]
    public void Decide_Succeeded_Finalizes()
    {
        var result = new ResultLocation("https://upstream.invalid/v.mp4", false);

        Assert.Equal(new PollDecision.Finalize(result), PollPolicy.Decide(Running(90), new PollOutcome.Succeeded(result), 2, Schedule, 0.5));
    }

    [Fact]
    public void Decide_Failed_FailsWithTheUpstreamError()
    {
        var error = new JobError(ErrorCodes.ModerationBlocked, "blocked", Stage: "output");

        Assert.Equal(new PollDecision.Fail(error), PollPolicy.Decide(Running(90), new PollOutcome.Failed(error), 2, Schedule, 0.5));
    }

    [Fact]
    public void Decide_RetryLaterWithRetryAfter_WaitsExactlyThat()
    {
        var decision = PollPolicy.Decide(Running(10), new PollOutcome.RetryLater("rate limited", TimeSpan.FromSeconds(30)), 1, Schedule, 0.5);

        Assert.Equal(new PollDecision.RetryAfter(TimeSpan.FromSeconds(30), 2, "rate limited"), decision);
    }

    [Fact]
    public void Decide_RetryLaterWithoutRetryAfter_WaitsTheNextInterval()
    {
        var decision = PollPolicy.Decide(Running(10), new PollOutcome.RetryLater("HTTP 503"), 1, Schedule, 0.5);

        Assert.Equal(new PollDecision.RetryAfter(TimeSpan.FromSeconds(4), 2, "HTTP 503"), decision);
    }

    [Fact]
    public void AfterFinalizeFailed_AnyAttempt_WaitsThreeIntervalsFurther()
    {
        var decision = PollPolicy.AfterFinalizeFailed(0, Schedule, 0.5);

        Assert.Equal(TimeSpan.FromSeconds(8), decision.Delay); // 1 s × 2^3, at the cap.
        Assert.Equal(1, decision.Attempt);
    }
}
