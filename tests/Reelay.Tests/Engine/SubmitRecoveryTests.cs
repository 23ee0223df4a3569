using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Tests.Storage;

namespace Reelay.Tests.Engine;

public sealed class SubmitRecoveryTests
{
    private static readonly DateTimeOffset Now = TestJobs.Epoch;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    private static Job Caught(int attempts, SubmitCall? call) =>
        TestJobs.New(status: JobStatus.Submitting) with { SubmitAttempts = attempts, SubmitCall = call, Provider = "vidu-main", UpstreamModel = "viduq2-pro" };

    private static SubmitCall Call(int attempt, TimeSpan ago) => new(attempt, "vidu-main", "viduq2-pro", $"reelay-x-{attempt}", Now - ago);

    [Fact]
    public void Plan_NoCallRecorded_Requeues() =>
        Assert.IsType<RecoveryStep.Requeue>(SubmitRecovery.Plan(Caught(1, null)));

    [Fact]
    public void Plan_CallRecordedForAnEarlierAttempt_Requeues() =>
        Assert.IsType<RecoveryStep.Requeue>(SubmitRecovery.Plan(Caught(3, Call(2, TimeSpan.FromMinutes(1)))));

    [Fact]
    public void Plan_CallRecordedForTheCurrentAttempt_LooksUp() =>
        Assert.IsType<RecoveryStep.LookUp>(SubmitRecovery.Plan(Caught(2, Call(2, TimeSpan.FromSeconds(1)))));

    [Fact]
    public void After_Found_AdoptsTheUpstreamId() =>
        Assert.Equal(new RecoveryStep.Adopt("task-1"), SubmitRecovery.After(Caught(1, Call(1, TimeSpan.Zero)), new RecoveryOutcome.Found("task-1"), Now, Settle));

    [Fact]
    public void After_FoundButClaimedByAnotherJob_FailsUnknown() =>
        Assert.IsType<RecoveryStep.FailUnknown>(SubmitRecovery.After(Caught(1, Call(1, TimeSpan.Zero)), new RecoveryOutcome.Found("task-1"), Now, Settle, claimedByAnotherJob: true));

    [Fact]
    public void After_Unknown_FailsUnknown() =>
        Assert.IsType<RecoveryStep.FailUnknown>(SubmitRecovery.After(Caught(1, Call(1, TimeSpan.FromHours(1))), new RecoveryOutcome.Unknown(), Now, Settle));

    [Fact]
    public void After_NotFoundOnceTheCallCannotStillRun_Requeues() =>
        Assert.IsType<RecoveryStep.Requeue>(SubmitRecovery.After(Caught(1, Call(1, Settle)), new RecoveryOutcome.NotFound(), Now, Settle));

    [Fact]
    public void After_NotFoundWhileTheCallCouldStillRun_LooksAgainWhenItCannot() =>
        Assert.Equal(
            new RecoveryStep.LookAgain(Now + TimeSpan.FromSeconds(50)),
            SubmitRecovery.After(Caught(1, Call(1, TimeSpan.FromSeconds(10))), new RecoveryOutcome.NotFound(), Now, Settle));
}
