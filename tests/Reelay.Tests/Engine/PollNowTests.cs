using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Tests.Engine;

/// <summary>JobScheduler.PollNow: the entry point a provider callback uses ("this job changed upstream: poll it now").</summary>
public sealed class PollNowTests
{
    [Fact]
    public async Task PollNow_RunningJob_PollsAtOnceWithoutTouchingItsOwnSchedule()
    {
        var done = false;
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, _) => done
            ? new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false))
            : new PollOutcome.Running(null));
        var job = await h.SubmitAsync();
        await h.EventuallyAsync(async () => (await h.GetAsync(job.Id)) is var j && j.Status == JobStatus.Running, "running"); // the clock stands still: its first poll is due 1 s later
        Assert.Empty(h.Provider.Polls);

        Assert.True(h.Scheduler.PollNow(job.Id));
        await h.EventuallyAsync(() => h.Provider.Polls.Count == 1, "the hinted poll, with the clock standing still");
        Assert.False(h.Scheduler.PollNow(job.Id)); // a second hint within 500 ms is dropped
        Assert.False(h.Scheduler.PollNow("video_00000000000000000000000000000000")); // not a job this node holds

        // The job's own chain goes on: one poll when its time comes, not two.
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.EventuallyAsync(() => h.Provider.Polls.Count == 2, "the scheduled poll");
        await Task.Delay(200);
        Assert.Equal(2, h.Provider.Polls.Count);

        // Upstream finished: a hint after the quiet interval finalizes the job at once.
        done = true;
        h.Clock.Advance(TimeSpan.FromMilliseconds(600));
        Assert.True(h.Scheduler.PollNow(job.Id));
        await h.EventuallyAsync(async () => (await h.GetAsync(job.Id)) is var j && j.Status == JobStatus.Succeeded, "succeeded on the hint"); // the clock stands still
        Assert.Equal(3, h.Provider.Polls.Count);
        Assert.False(h.Scheduler.PollNow(job.Id)); // finished: no longer held
    }

    [Fact]
    public async Task PollNow_FailedUpstream_JobFailsOnTheHintedPoll()
    {
        var failed = false;
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, _) => failed
            ? new PollOutcome.Failed(new JobError(ErrorCodes.ModerationBlocked, "output blocked"))
            : new PollOutcome.Running(null));
        var job = await h.SubmitAsync();
        await h.EventuallyAsync(async () => (await h.GetAsync(job.Id)) is var j && j.Status == JobStatus.Running, "running"); // the clock stands still

        failed = true;
        Assert.True(h.Scheduler.PollNow(job.Id));

        await h.EventuallyAsync(async () => (await h.GetAsync(job.Id)) is var j && j.Status == JobStatus.Failed, "failed on the hint"); // the clock stands still
        Assert.Equal(ErrorCodes.ModerationBlocked, (await h.GetAsync(job.Id)).Error!.Code);
        Assert.Single(h.Provider.Polls);
    }
}
