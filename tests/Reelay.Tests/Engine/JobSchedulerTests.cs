using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Engine;

public sealed class JobSchedulerTests
{
    [Fact]
    public async Task Submit_ProviderAcceptsThenSucceeds_JobSucceedsWithStoredResult()
    {
        await using var h = await EngineHarness.StartAsync();
        var job = await h.SubmitAsync();
        Assert.Equal(JobStatus.Queued, job.Status);

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");

        var done = await h.GetAsync(job.Id);
        Assert.Equal(100, done.Progress);
        Assert.Equal("up-" + job.Id, done.UpstreamId);
        Assert.NotNull(done.StartedAt);
        Assert.NotNull(done.CompletedAt);
        Assert.Equal($"videos/{job.Id}.mp4", done.ResultKey);
        Assert.Equal("fake mp4 bytes"u8.ToArray(), h.Results.Objects[done.ResultKey!]);
        Assert.True(h.Results.Objects.ContainsKey(done.ThumbnailKey!));
        Assert.Equal(14, done.ResultBytes);
        Assert.Equal((0, 0), (h.Scheduler.Counts().Queued, h.Scheduler.Counts().Active));
    }

    [Fact]
    public async Task Finalize_Success_RecordsChecksumMeasuredSizeSpritesheetAndExpiry()
    {
        await using var h = await EngineHarness.StartAsync(configure: o => o.Storage.Retention = TimeSpan.FromDays(3));
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");

        var done = await h.GetAsync(job.Id);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("fake mp4 bytes"u8)), done.ResultSha256);
        Assert.Equal((320, 240), (done.ResultWidth, done.ResultHeight));
        Assert.Equal($"spritesheets/{job.Id}.webp", done.SpritesheetKey);
        Assert.Equal("spritesheet"u8.ToArray(), h.Results.Objects[done.SpritesheetKey!]);
        Assert.Equal(done.CompletedAt + TimeSpan.FromDays(3), done.ExpiresAt);
        Assert.Null(done.ContentDeletedAt);
    }

    [Fact]
    public async Task Finalize_SpritesheetThrowsAndRetentionForever_SucceedsWithoutSpritesheetOrExpiry()
    {
        await using var h = await EngineHarness.StartAsync(configure: o => o.Storage.Retention = TimeSpan.Zero);
        h.Media.OnSpritesheet = _ => throw new IOException("ffmpeg went away (test)");
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");

        var done = await h.GetAsync(job.Id);
        Assert.Null(done.SpritesheetKey);
        Assert.Null(done.ExpiresAt);
        Assert.NotNull(done.ResultKey);
        Assert.DoesNotContain(h.Results.Objects.Keys, k => k.StartsWith("spritesheets/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Observers_JobRunsToSuccess_SeeEveryStoredStateInOrderDespiteAThrowingObserver()
    {
        await using var h = await EngineHarness.StartAsync();
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeds");

        var changes = h.Observer.Changes.Where(c => c.Current.Id == job.Id).ToList();
        Assert.Null(changes[0].Previous);
        Assert.Equal(JobStatus.Queued, changes[0].Current.Status);
        var statuses = changes.Select(c => c.Current.Status).Distinct().ToList();
        Assert.Equal([JobStatus.Queued, JobStatus.Submitting, JobStatus.Running, JobStatus.Succeeded], statuses);
        for (var i = 1; i < changes.Count; i++)
        {
            Assert.Equal(changes[i - 1].Current.Version, changes[i].Previous!.Version);
            Assert.True(changes[i].Current.Version > changes[i].Previous!.Version);
        }
    }

    [Fact]
    public async Task Submit_MoreJobsThanConcurrencyLimit_ExtraJobsWaitWithQueuePositions()
    {
        await using var h = await EngineHarness.StartAsync(p =>
        {
            p.MaxConcurrentJobs = 1;
            p.OnPoll = (_, _) => new PollOutcome.Running(10);
        });
        var first = await h.SubmitAsync("one");
        var second = await h.SubmitAsync("two");
        var third = await h.SubmitAsync("three");

        await h.WaitForAsync(first.Id, j => j.Status == JobStatus.Running, "first running");
        Assert.Equal(1, h.Engine.QueuePosition(await h.GetAsync(second.Id)));
        Assert.Equal(2, h.Engine.QueuePosition(await h.GetAsync(third.Id)));
        Assert.Null(h.Engine.QueuePosition(await h.GetAsync(first.Id)));
        Assert.Single(h.Provider.Submits);

        await h.Engine.CancelAsync(first.Id, Caller.Admin, CancellationToken.None);
        await h.WaitForAsync(second.Id, j => j.Status == JobStatus.Running, "second starts once the slot frees");
        Assert.Equal(1, h.Engine.QueuePosition(await h.GetAsync(third.Id)));

        // The upstream cancel runs after the slot is freed, so it may land a moment after the second job starts.
        await h.EventuallyAsync(() => h.Provider.Cancels.Contains(first.Id), "the first job's upstream cancel");
        Assert.Contains(first.Id, h.Provider.Cancels);
    }

    [Fact]
    public async Task Submit_SlotsFreeForMoreThanSubmitLimit_AtMostLimitInFlightOthersStayQueued()
    {
        using var upstream = new SemaphoreSlim(0);
        int inFlight = 0, most = 0;
        await using var h = await EngineHarness.StartAsync(
            p =>
            {
                p.MaxConcurrentJobs = 6;
                p.OnPoll = (_, _) => new PollOutcome.Running(10);
                p.OnSubmit = j =>
                {
                    var now = Interlocked.Increment(ref inFlight);
                    lock (upstream)
                    {
                        most = Math.Max(most, now);
                    }

                    upstream.Wait(TimeSpan.FromSeconds(20));
                    Interlocked.Decrement(ref inFlight);
                    return new SubmitOutcome.Accepted("up-" + j.Job.Id);
                };
            },
            o => o.Engine.MaxConcurrentSubmitsPerProvider = 2);
        var jobs = new List<Job>();
        for (var i = 0; i < 6; i++)
        {
            jobs.Add(await h.SubmitAsync($"job {i}"));
        }

        await h.EventuallyAsync(() => Volatile.Read(ref inFlight) == 2, "two submits in flight");
        await Task.Delay(300); // time for a third to start, were it allowed
        Assert.Equal(2, Volatile.Read(ref inFlight));
        var stored = await Task.WhenAll(jobs.Select(j => h.GetAsync(j.Id)));
        Assert.Equal(4, stored.Count(j => j.Status == JobStatus.Queued));

        upstream.Release(6);
        foreach (var job in jobs)
        {
            await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Running, $"{job.Id} running");
        }

        Assert.Equal(2, most);
        Assert.Equal(6, h.Provider.Submits.Count);
    }

    [Fact]
    public async Task Poll_NoProgress_IntervalsGrowUpToMax()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, _) => new PollOutcome.Running(null));
        var job = await h.SubmitAsync();
        await h.EventuallyAsync(() => h.Provider.Polls.Count >= 6, "six polls", TimeSpan.FromMilliseconds(500));

        var times = h.Provider.Polls.Select(p => p.At).ToList();
        var gaps = times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        // Initial 1 s doubling to a cap of 8 s (no jitter in this schedule); the clock moves in 0.5 s steps.
        Assert.InRange(gaps[0], 2, 2.5);
        Assert.InRange(gaps[1], 4, 4.5);
        Assert.InRange(gaps[2], 8, 8.5);
        Assert.InRange(gaps[3], 8, 8.5);
        Assert.Equal(JobStatus.Running, (await h.GetAsync(job.Id)).Status);
    }

    [Fact]
    public async Task Poll_ProgressChanges_StoredAndIntervalResets()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, n) => new PollOutcome.Running(Math.Min(90, n * 10)));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Progress >= 30, "progress 30");
        var times = h.Provider.Polls.Select(p => p.At).ToList();
        Assert.All(times.Zip(times.Skip(1), (a, b) => (b - a).TotalSeconds), gap => Assert.InRange(gap, 1, 1.5));
    }

    [Fact]
    public async Task Poll_RetryLaterWithRetryAfter_NotAFailureAndWaitsAsAsked()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, n) => n switch
        {
            1 => new PollOutcome.RetryLater("429", TimeSpan.FromSeconds(30)),
            _ => new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false)),
        });
        var job = await h.SubmitAsync();
        await h.EventuallyAsync(() => !h.Provider.Polls.IsEmpty, "first poll", TimeSpan.FromMilliseconds(250));
        Assert.Equal(JobStatus.Running, (await h.GetAsync(job.Id)).Status);

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeds after the retry", TimeSpan.FromSeconds(1));
        var polls = h.Provider.Polls.ToList();
        Assert.True((polls[1].At - polls[0].At).TotalSeconds >= 30, "the second poll honoured Retry-After");
    }

    [Fact]
    public async Task Poll_ProviderFails_JobFailedWithProviderError()
    {
        var error = new JobError(ErrorCodes.ModerationBlocked, "The output did not pass moderation.", Stage: "output");
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, n) => n < 3 ? new PollOutcome.Running(n * 45) : new PollOutcome.Failed(error));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");
        var failed = await h.GetAsync(job.Id);
        Assert.Equal(error, failed.Error);
        Assert.Equal(90, failed.Progress);
        Assert.Equal(0, h.Scheduler.Counts().Active);
    }

    [Fact]
    public async Task Poll_SucceededButNotAVideo_FailsClearly()
    {
        await using var h = await EngineHarness.StartAsync();
        h.Provider.OnPoll = (_, _) => new PollOutcome.Succeeded(new ResultLocation(WriteTemp("broken bytes"), true));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");
        Assert.Equal(ErrorCodes.UpstreamUnavailable, (await h.GetAsync(job.Id)).Error!.Code);
    }

    [Fact]
    public async Task Deadline_JobNeverFinishes_FailsWithDeadlineExceededAndCancelsUpstream()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, _) => new PollOutcome.Running(5), o => o.JobDeadline = TimeSpan.FromMinutes(2));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "deadline", TimeSpan.FromSeconds(5));
        var failed = await h.GetAsync(job.Id);
        Assert.Equal(ErrorCodes.DeadlineExceeded, failed.Error!.Code);
        await h.EventuallyAsync(() => h.Provider.Cancels.Contains(job.Id), "upstream cancelled");
        Assert.Equal(0, h.Scheduler.Counts().Active);
    }

    [Fact]
    public async Task Submit_RejectedByProvider_FailsWithoutPolling()
    {
        var error = new JobError(ErrorCodes.InvalidRequest, "Inpaint image must match the requested width and height", "first_frame");
        await using var h = await EngineHarness.StartAsync(p => p.OnSubmit = _ => new SubmitOutcome.Rejected(error));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");
        Assert.Equal(error, (await h.GetAsync(job.Id)).Error);
        Assert.Empty(h.Provider.Polls);
    }

    [Fact]
    public async Task Submit_RetryLaterThenAccepted_RequeuedAndResubmittedAfterDelay()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnSubmit = j =>
            p.Submits.Count(s => s.JobId == j.Job.Id) < 3
                ? new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, "429"), TimeSpan.FromSeconds(10))
                : new SubmitOutcome.Accepted("up-1"));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded after retries", TimeSpan.FromSeconds(1));
        var submits = h.Provider.Submits.Select(s => s.At).ToList();
        Assert.Equal(3, submits.Count);
        Assert.True((submits[1] - submits[0]).TotalSeconds >= 10);
        Assert.Equal(3, (await h.GetAsync(job.Id)).SubmitAttempts);
    }

    [Fact]
    public async Task Submit_RetryLaterEveryTime_FailsAfterMaxAttemptsWithLastError()
    {
        await using var h = await EngineHarness.StartAsync(
            p => p.OnSubmit = _ => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "503")),
            o => o.Engine.MaxSubmitAttempts = 3);
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed", TimeSpan.FromSeconds(2));
        Assert.Equal(ErrorCodes.UpstreamUnavailable, (await h.GetAsync(job.Id)).Error!.Code);
        Assert.Equal(3, h.Provider.Submits.Count);
    }

    [Fact]
    public async Task Cancel_QueuedJob_NeverSubmitted()
    {
        await using var h = await EngineHarness.StartAsync(p =>
        {
            p.MaxConcurrentJobs = 1;
            p.OnPoll = (_, _) => new PollOutcome.Running(1);
        });
        var first = await h.SubmitAsync("one");
        var second = await h.SubmitAsync("two");
        var cancelled = await h.Engine.CancelAsync(second.Id, Caller.Admin, CancellationToken.None);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Equal(ErrorCodes.Cancelled, cancelled.Error!.Code);

        await h.Engine.CancelAsync(first.Id, Caller.Admin, CancellationToken.None);
        await Task.Delay(200);
        Assert.DoesNotContain(h.Provider.Submits, s => s.JobId == second.Id);
        Assert.Equal((0, 0), (h.Scheduler.Counts().Queued, h.Scheduler.Counts().Active));
    }

    [Fact]
    public async Task Cancel_FinishedJob_Conflict()
    {
        await using var h = await EngineHarness.StartAsync();
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        var ex = await Assert.ThrowsAsync<ReelayException>(() => h.Engine.CancelAsync(job.Id, Caller.Admin, CancellationToken.None));
        Assert.Equal(ErrorCodes.Conflict, ex.Error.Code);
    }

    [Fact]
    public async Task Restart_RunningJob_ContinuesPollingToSuccess()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnPoll = (_, _) => new PollOutcome.Running(20));
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Running && j.Progress == 20, "running");

        await h.RestartAsync();
        h.Provider.OnPoll = (_, _) => new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false));
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded after restart");
        Assert.Single(h.Provider.Submits);
    }

    [Fact]
    public async Task Restart_QueuedJobs_KeepTheirOrder()
    {
        await using var h = await EngineHarness.StartAsync(p =>
        {
            p.MaxConcurrentJobs = 1;
            p.OnPoll = (_, _) => new PollOutcome.Running(1);
        });
        var jobs = new List<Job>();
        for (var i = 0; i < 4; i++)
        {
            jobs.Add(await h.SubmitAsync($"job {i}"));
        }

        await h.WaitForAsync(jobs[0].Id, j => j.Status == JobStatus.Running, "first running");
        await h.RestartAsync();
        Assert.Equal(1, h.Engine.QueuePosition(await h.GetAsync(jobs[1].Id)));
        Assert.Equal(3, h.Engine.QueuePosition(await h.GetAsync(jobs[3].Id)));
    }

    [Fact]
    public async Task Restart_CaughtInSubmittingAndProviderCannotTell_FailsUnknownWithoutResubmit()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Unknown());
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromHours(1));

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed as unknown");
        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, (await h.GetAsync(job.Id)).Error!.Code);
        Assert.Contains(job.Id, h.Provider.Recoveries);
        Assert.Empty(h.Provider.Submits);
    }

    [Fact]
    public async Task Restart_CaughtInSubmittingAndProviderHasIt_ContinuesWithoutResubmit()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Found("up-found"));
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromHours(1));

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        Assert.Equal("up-found", (await h.GetAsync(job.Id)).UpstreamId);
        Assert.Empty(h.Provider.Submits);
    }

    [Fact]
    public async Task Restart_CaughtInSubmittingAndProviderDefinitelyLacksIt_SubmittedAgain()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.NotFound());
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromHours(1));

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        Assert.Single(h.Provider.Submits);
    }

    [Fact]
    public async Task Restart_CaughtInSubmittingBeforeItsRequestLeft_RequeuedWithoutLookupAndSubmittedOnce()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Unknown());
        var job = CrashedWhileSubmitting(h, calledAgo: null);

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "submitted again and succeeded");

        Assert.Empty(h.Provider.Recoveries);
        Assert.Single(h.Provider.Submits, s => s.JobId == job.Id);
        var done = await h.GetAsync(job.Id);
        Assert.Equal(2, done.SubmitAttempts);
        Assert.Equal(new SubmitCall(2, "sandbox", "sandbox", $"reelay-{job.Id}-2", done.SubmitCall!.StartedAt), done.SubmitCall);
    }

    [Fact]
    public async Task Restart_CallRecordedOnlyForAnEarlierAttempt_RequeuedWithoutLookup()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Unknown());
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromMinutes(5), attempts: 2, recordedAttempt: 1);

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "submitted again and succeeded");

        Assert.Empty(h.Provider.Recoveries);
        Assert.Single(h.Provider.Submits, s => s.JobId == job.Id);
    }

    [Fact]
    public async Task Restart_NotFoundWhileTheCallCouldStillRun_LooksAgainAfterTheCallTimeoutThenResubmits()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.NotFound(), o => o.Engine.UpstreamCallTimeout = TimeSpan.FromSeconds(30));
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromSeconds(2));

        await h.RestartAsync();
        await h.EventuallyAsync(() => h.Provider.Recoveries.Count(r => r == job.Id) == 1, "first lookup");
        Assert.Equal(JobStatus.Submitting, (await h.GetAsync(job.Id)).Status);
        Assert.Empty(h.Provider.Submits);

        h.Clock.Advance(TimeSpan.FromSeconds(27));
        await h.EventuallyAsync(() => h.Provider.Recoveries.Count(r => r == job.Id) == 2, "second lookup once the call timed out", TimeSpan.FromMilliseconds(250));
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "submitted again and succeeded");
        Assert.Single(h.Provider.Submits, s => s.JobId == job.Id);
    }

    [Fact]
    public async Task Restart_TwoJobsFindTheSameUpstreamTask_OneAdoptsItTheOtherFailsUnknown()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Found("up-shared"));
        var first = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromMinutes(1), prompt: "twin");
        var second = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromMinutes(1), prompt: "twin");

        await h.RestartAsync();
        await h.WaitForAsync(first.Id, j => j.Status.IsTerminal(), "first ended");
        await h.WaitForAsync(second.Id, j => j.Status.IsTerminal(), "second ended");

        var ended = new[] { await h.GetAsync(first.Id), await h.GetAsync(second.Id) };
        Assert.Single(ended, j => j is { Status: JobStatus.Succeeded, UpstreamId: "up-shared" });
        Assert.Single(ended, j => j.Error?.Code == ErrorCodes.SubmitOutcomeUnknown);
        Assert.Empty(h.Provider.Submits);
    }

    [Fact]
    public async Task Restart_RunningJobOwnsAnUpstreamTask_LookupIsToldItIsClaimed()
    {
        IReadOnlySet<string>? claimed = null;
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = j =>
        {
            claimed = j.ClaimedUpstreamIds;
            return new RecoveryOutcome.Unknown();
        });
        var running = await h.SubmitAsync("already running");
        await h.WaitForAsync(running.Id, j => j.Status == JobStatus.Running, "running");
        h.Provider.OnPoll = (_, _) => new PollOutcome.Running(10);
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromMinutes(1));

        await h.RestartAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed as unknown");

        Assert.Equal(["up-" + running.Id], claimed!);
    }

    [Fact]
    public async Task Submit_ProviderSends_CallIsRecordedBeforeTheRequestWithItsClientReference()
    {
        SubmitCall? seen = null;
        string? reference = null;
        EngineHarness? harness = null;
        await using var h = harness = await EngineHarness.StartAsync(p => p.OnSubmit = j =>
        {
            // What the store holds at the moment the request leaves.
            seen = harness!.Store.GetAsync(j.Job.Id, CancellationToken.None).GetAwaiter().GetResult()!.SubmitCall;
            reference = j.ClientReference;
            return new SubmitOutcome.Accepted("up-" + j.Job.Id);
        });
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");

        Assert.Equal($"reelay-{job.Id}-1", reference);
        Assert.Equal(new SubmitCall(1, "sandbox", "sandbox", reference!, h.Clock.GetUtcNow()), seen! with { StartedAt = h.Clock.GetUtcNow() });
        Assert.Equal(JobStatus.Submitting, h.Observer.Changes.Single(c => c.Previous?.SubmitCall is null && c.Current.SubmitCall is not null).Current.Status);
    }

    [Fact]
    public async Task Submit_ProviderNeverSends_NoCallIsRecorded()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnSubmit = _ => new SubmitOutcome.Rejected(new JobError(ErrorCodes.InvalidRequest, "refused before sending (test)")));
        h.Provider.SendsBeforeSubmit = false;
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");

        Assert.Null((await h.GetAsync(job.Id)).SubmitCall);
    }

    [Fact]
    public async Task Claims_NodeDiesWhileSubmitting_AnotherNodeTakesTheJobAfterTheLeaseAndFailsItUnknown()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Unknown(), o => o.Engine.NodeId = "node-a");
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromSeconds(5));
        Assert.True(await h.Claims.TryClaimAsync(job.Id, "node-a", h.Clock.GetUtcNow(), h.Options.Engine.ClaimLease, CancellationToken.None));

        // Node a dies holding the claim; node b starts on the same store and claims.
        h.Options.Engine.NodeId = "node-b";
        await h.RestartAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(25));
        await Task.Delay(100);
        Assert.Equal(JobStatus.Submitting, (await h.GetAsync(job.Id)).Status); // Node a's lease is still live.
        Assert.Empty(h.Provider.Recoveries);

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "taken over after the lease and failed as unknown", TimeSpan.FromSeconds(1));
        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, (await h.GetAsync(job.Id)).Error!.Code);
        Assert.Contains(job.Id, h.Provider.Recoveries);
        Assert.Empty(h.Provider.Submits); // Never resubmitted: that could pay twice.
    }

    [Fact]
    public async Task Claims_NodeRestartsWithTheSameId_TakesItsOwnJobsBackAtOnce()
    {
        await using var h = await EngineHarness.StartAsync(p => p.OnRecover = _ => new RecoveryOutcome.Found("up-found"), o => o.Engine.NodeId = "node-a");
        var job = CrashedWhileSubmitting(h, calledAgo: TimeSpan.FromSeconds(5));
        Assert.True(await h.Claims.TryClaimAsync(job.Id, "node-a", h.Clock.GetUtcNow(), h.Options.Engine.ClaimLease, CancellationToken.None));

        await h.RestartAsync();

        await h.WaitForAsync(job.Id, j => j.Status is JobStatus.Running or JobStatus.Succeeded, "adopted without waiting for the lease", TimeSpan.FromMilliseconds(1));
        Assert.Equal("up-found", (await h.GetAsync(job.Id)).UpstreamId);
    }

    /// <summary>
    /// A job a crash left in submitting on its first attempt: with the call record written just before its request left
    /// <paramref name="calledAgo"/> ago, or none when <paramref name="calledAgo"/> is null (the crash came before the send).
    /// </summary>
    private static Job CrashedWhileSubmitting(EngineHarness h, TimeSpan? calledAgo, string prompt = "caught mid-submit", int attempts = 1, int recordedAttempt = 1)
    {
        var now = h.Clock.GetUtcNow();
        var id = Job.NewId();
        var job = new Job
        {
            Id = id,
            Owner = Caller.AdminKeyId,
            Model = "sandbox",
            Mode = VideoMode.TextToVideo,
            Prompt = prompt,
            DurationSeconds = 4,
            Width = 320,
            Height = 240,
            Status = JobStatus.Submitting,
            SubmitAttempts = attempts,
            SubmitCall = calledAgo is { } ago ? new SubmitCall(recordedAttempt, "sandbox", "sandbox", $"reelay-{id}-{recordedAttempt}", now - ago) : null,
            CreatedAt = now,
            UpdatedAt = now,
            Deadline = now.AddMinutes(30),
            Provider = "sandbox",
            UpstreamModel = "sandbox",
            Version = 3,
        };
        h.Store.Put(job);
        return job;
    }

    private static string WriteTemp(string text)
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, text);
        return path;
    }
}
