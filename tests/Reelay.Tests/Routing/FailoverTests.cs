using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;
using Reelay.Tests.Engine;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Routing;

/// <summary>Submit fails over between deployments until one accepts; then the job is pinned to it.</summary>
public sealed class FailoverTests
{
    private static readonly Dictionary<string, IReadOnlyList<Deployment>> TwoDeployments = new()
    {
        ["sora-2"] = [new Deployment("a", "up-a", "up-a-i2v", 0), new Deployment("b", "up-b", "up-b-i2v", 0)],
    };

    private static async Task<(EngineHarness H, FakeProvider A, FakeProvider B)> StartAsync(Action<FakeProvider, FakeProvider> setup, Action<ReelayOptions>? configure = null)
    {
        var clock = EngineHarness.NewClock();
        var a = new FakeProvider(clock, "a");
        var b = new FakeProvider(clock, "b");
        setup(a, b);
        var h = await EngineHarness.StartRoutedAsync(clock, [a, b], TwoDeployments, configure);
        return (h, a, b);
    }

    [Fact]
    public async Task Submit_FirstDeploymentUnavailable_SecondAcceptsAndJobIsPinnedToIt()
    {
        var (h, a, b) = await StartAsync((a, _) => a.OnSubmit = _ => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "503")));
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2");
        Assert.Equal(("a", "up-a"), (job.Provider, job.UpstreamModel));

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeds on b");

        var done = await h.GetAsync(job.Id);
        Assert.Equal(("b", "up-b", "up-" + job.Id), (done.Provider, done.UpstreamModel, done.UpstreamId));
        Assert.Single(a.Submits);
        Assert.Single(b.Submits);
        Assert.Empty(a.Polls);
        Assert.NotEmpty(b.Polls);
    }

    [Theory]
    [InlineData(ErrorCodes.UpstreamAuth)]
    [InlineData(ErrorCodes.UpstreamQuota)]
    public async Task Submit_FirstDeploymentRefusesItsKeyOrQuota_FailsOverToTheSecond(string code)
    {
        var (h, a, b) = await StartAsync((a, _) => a.OnSubmit = _ => new SubmitOutcome.Rejected(new JobError(code, "refused")));
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2");

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeds on b");
        Assert.Equal("b", (await h.GetAsync(job.Id)).Provider);
    }

    [Fact]
    public async Task Submit_FirstDeploymentRejectsTheRequestItself_FailsWithoutTryingTheSecond()
    {
        var (h, a, b) = await StartAsync((a, _) => a.OnSubmit = _ => new SubmitOutcome.Rejected(new JobError(ErrorCodes.ModerationBlocked, "prompt blocked", Stage: "prompt")));
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2");

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "job fails");
        Assert.Equal(ErrorCodes.ModerationBlocked, (await h.GetAsync(job.Id)).Error!.Code);
        Assert.Empty(b.Submits);
    }

    [Fact]
    public async Task Submit_EveryDeploymentUnavailable_BacksOffAndStartsAgainFromTheFirstThenFails()
    {
        var (h, a, b) = await StartAsync(
            (a, b) =>
            {
                a.OnSubmit = _ => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "a down"));
                b.OnSubmit = _ => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, "b busy"), TimeSpan.FromSeconds(5));
            },
            o => o.Engine.MaxSubmitAttempts = 4);
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2");

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Failed, "job fails after 4 attempts", TimeSpan.FromSeconds(1));

        var failed = await h.GetAsync(job.Id);
        Assert.Equal(4, failed.SubmitAttempts);
        Assert.Equal(ErrorCodes.UpstreamRateLimited, failed.Error!.Code);
        Assert.Equal(2, a.Submits.Count);
        Assert.Equal(2, b.Submits.Count);

        // The round restarted on a only after b's Retry-After.
        var (secondA, firstB) = (a.Submits.ElementAt(1).At, b.Submits.First().At);
        Assert.True(secondA - firstB >= TimeSpan.FromSeconds(5), $"a was retried {secondA - firstB} after b's 429 with Retry-After 5 s");
    }

    [Fact]
    public async Task Poll_PinnedDeploymentStruggles_NeverMovesToAnotherDeployment()
    {
        var (h, a, b) = await StartAsync((a, _) => a.OnPoll = (_, n) => n < 4
            ? new PollOutcome.RetryLater("503 from upstream")
            : new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false)));
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2");

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeds on a");
        Assert.Equal("a", (await h.GetAsync(job.Id)).Provider);
        Assert.Empty(b.Submits);
        Assert.Equal(4, a.Polls.Count);
    }

    [Fact]
    public async Task Submit_FirstDeploymentCannotServeTheRequest_SkippedStraightToTheSecond()
    {
        var (h, a, b) = await StartAsync((a, _) => a.Support = (job, _) => job.DurationSeconds == 8 ? "duration 8 s is not offered" : null);
        await using var _ = h;
        var job = await h.SubmitModelAsync("sora-2", seconds: 8);

        Assert.Equal("b", job.Provider);
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeds on b");
        Assert.Empty(a.Submits);
    }

    [Fact]
    public async Task Submit_NoDeploymentCanServeTheRequest_UnsupportedModelNamingEachReasonAndNothingStored()
    {
        var (h, a, b) = await StartAsync((a, b) =>
        {
            a.Support = (_, _) => "duration 8 s is not offered (4 or 12)";
            b.Support = (_, _) => "size 1280x720 is not offered";
        });
        await using var _ = h;

        var error = await Assert.ThrowsAsync<ReelayException>(() => h.SubmitModelAsync("sora-2", seconds: 8));

        Assert.Equal(ErrorCodes.UnsupportedModel, error.Error.Code);
        Assert.Contains("a (up-a): duration 8 s is not offered (4 or 12)", error.Message, StringComparison.Ordinal);
        Assert.Contains("b (up-b): size 1280x720 is not offered", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, h.Store.Count);
    }
}
