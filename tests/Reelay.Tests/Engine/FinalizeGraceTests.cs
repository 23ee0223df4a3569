using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Tests.Engine;

/// <summary>
/// A job whose upstream has finished is not failed by its deadline while its result waits to be stored (the provider made
/// and billed it), but the grace is given once, so a finalization that keeps failing still ends the job.
/// </summary>
public sealed class FinalizeGraceTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static Job RunningUntil(DateTimeOffset deadline, IReadOnlyDictionary<string, string>? options = null) =>
        Reelay.Tests.Storage.TestJobs.New(status: JobStatus.Running) with { Deadline = deadline, Options = options ?? new Dictionary<string, string>() };

    [Fact]
    public void DeadlineToFinalize_DeadlineWithinTheGrace_MovesToNowPlusGraceAndRecordsTheMoment()
    {
        var longer = PollPolicy.DeadlineToFinalize(RunningUntil(Now.AddMinutes(1)), Now, TimeSpan.FromMinutes(30));

        Assert.Equal(new FinalizeDeadline(Now, Now.AddMinutes(30)), longer);
    }

    [Fact]
    public void DeadlineToFinalize_DeadlineAlreadyPassed_StillMoves()
    {
        var longer = PollPolicy.DeadlineToFinalize(RunningUntil(Now.AddMinutes(-3)), Now, TimeSpan.FromMinutes(10));

        Assert.Equal(Now.AddMinutes(10), longer!.Deadline);
    }

    [Fact]
    public void DeadlineToFinalize_DeadlineFurtherThanTheGrace_KeepsIt()
    {
        Assert.Null(PollPolicy.DeadlineToFinalize(RunningUntil(Now.AddMinutes(31)), Now, TimeSpan.FromMinutes(30)));
    }

    [Fact]
    public void DeadlineToFinalize_GraceZero_TheDeadlineIsFinal()
    {
        Assert.Null(PollPolicy.DeadlineToFinalize(RunningUntil(Now.AddSeconds(1)), Now, TimeSpan.Zero));
    }

    [Fact]
    public void DeadlineToFinalize_MomentAlreadyRecorded_NeverMovesAgain()
    {
        var marked = JobOperations.WithUpstreamFinishedAt(new Dictionary<string, string>(), Now.AddMinutes(-40));

        Assert.Null(PollPolicy.DeadlineToFinalize(RunningUntil(Now.AddMinutes(-10), marked), Now, TimeSpan.FromMinutes(30)));
    }

    [Fact]
    public async Task Finalize_WaitingForASlotPastTheDeadline_BothJobsSucceedInsteadOfFailing()
    {
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        await using var h = await EngineHarness.StartAsync(configure: o =>
        {
            o.JobDeadline = TimeSpan.FromMinutes(2);
            o.Engine.FinalizeGrace = TimeSpan.FromMinutes(30);
            o.Engine.MaxConcurrentFinalizations = 1; // the second job waits for the first one's slot
        });
        h.Media.OnSpritesheet = output =>
        {
            entered.Release();
            release.Wait(TimeSpan.FromSeconds(30)); // a slow copy: the clock passes both jobs' own deadlines meanwhile
            File.WriteAllText(output, "spritesheet");
            return true;
        };
        var first = await h.SubmitAsync("first");
        await h.EventuallyAsync(() => entered.CurrentCount > 0, "first finalization started", TimeSpan.FromSeconds(1));
        var second = await h.SubmitAsync("second");
        await h.EventuallyAsync(() => h.Provider.Polls.Count(p => p.JobId == second.Id) >= 2, "second job polled to success", TimeSpan.FromSeconds(1));
        var storing = await h.GetAsync(first.Id);
        Assert.True(storing.Deadline >= h.Clock.GetUtcNow().AddMinutes(25), $"the first job's deadline {storing.Deadline} was not moved");
        Assert.NotNull(JobOperations.UpstreamFinishedAt(storing.Options));

        for (var minute = 0; minute < 6; minute++) // past both original deadlines: their timers fire and must leave the jobs alone
        {
            h.Clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(50);
        }

        Assert.Equal(JobStatus.Running, (await h.GetAsync(first.Id)).Status);
        Assert.Equal(JobStatus.Running, (await h.GetAsync(second.Id)).Status);

        release.Set();
        foreach (var job in new[] { first, second })
        {
            await h.WaitForAsync(job.Id, j => j.Status.IsTerminal(), "finished");
            var done = await h.GetAsync(job.Id);
            Assert.Equal(JobStatus.Succeeded, done.Status);
            Assert.True(h.Results.Objects.ContainsKey(done.ResultKey!));
        }
    }

    [Fact]
    public async Task Finalize_KeepsFailing_JobStillEndsWithDeadlineExceededAfterTheGrace()
    {
        await using var h = await EngineHarness.StartAsync(configure: o =>
        {
            o.JobDeadline = TimeSpan.FromMinutes(2);
            o.Engine.FinalizeGrace = TimeSpan.FromMinutes(5);
        });
        // A result that cannot be read: every finalization throws and the job is polled again later.
        var missing = Path.Combine(Path.GetTempPath(), "reelay-missing-" + Guid.NewGuid().ToString("N") + ".mp4");
        h.Provider.OnPoll = (_, _) => new PollOutcome.Succeeded(new ResultLocation(missing, true));
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status.IsTerminal(), "failed after the grace", TimeSpan.FromSeconds(20));

        var failed = await h.GetAsync(job.Id);
        Assert.Equal(ErrorCodes.DeadlineExceeded, failed.Error!.Code);
        var finishedAt = JobOperations.UpstreamFinishedAt(failed.Options)!.Value;
        Assert.Equal(finishedAt + TimeSpan.FromMinutes(5), failed.Deadline);
        Assert.True(failed.CompletedAt >= failed.Deadline);
    }
}
