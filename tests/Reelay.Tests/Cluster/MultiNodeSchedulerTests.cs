using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Tests.Cluster;

/// <summary>Several engine nodes on one store, claims, slots and signal bus (<see cref="ClusterHarness"/>).</summary>
public sealed class MultiNodeSchedulerTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task Cancel_ThroughAnotherNode_ReachesTheNodeWorkingOnTheJob()
    {
        await using var cluster = await ClusterHarness.StartAsync(2, p => p.OnPoll = (_, _) => new PollOutcome.Running(10));
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var job = await a.SubmitAsync();
        await cluster.EventuallyAsync(async () => (await cluster.GetAsync(job.Id)).Status == JobStatus.Running, "the job runs on node A", Step);
        Assert.Equal([job.Id], a.Provider.Submits.Select(s => s.JobId));

        var cancelled = await b.Engine.CancelAsync(job.Id, Caller.Admin, CancellationToken.None);

        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        await cluster.EventuallyAsync(() => Task.FromResult(a.Provider.Cancels.Contains(job.Id) && a.Scheduler.Counts().Active == 0), "node A cancels upstream and frees its slot");
        Assert.Empty(b.Provider.Cancels);
        await cluster.EventuallyAsync(() => Task.FromResult(cluster.Slots.TakenOf("sandbox") == 0), "the job's cluster-wide slot is given back");
    }

    [Fact]
    public async Task Submit_OnTwoNodesOverOneProviderLimit_NeverExceedsItTogether()
    {
        await using var cluster = await ClusterHarness.StartAsync(2, p =>
        {
            p.MaxConcurrentJobs = 2;
            p.OnPoll = (_, n) => n >= 3 ? new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false)) : new PollOutcome.Running(30);
        });
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await cluster.Nodes[0].SubmitAsync($"a {i}")).Id);
            ids.Add((await cluster.Nodes[1].SubmitAsync($"b {i}")).Id);
        }

        await cluster.EventuallyAsync(async () =>
        {
            foreach (var id in ids)
            {
                if ((await cluster.GetAsync(id)).Status != JobStatus.Succeeded)
                {
                    return false;
                }
            }

            return true;
        }, "every job succeeds", Step);

        Assert.Equal(2, cluster.Slots.PeakOf("sandbox"));
        await cluster.EventuallyAsync(() => Task.FromResult(cluster.Slots.TakenOf("sandbox") == 0), "every slot is given back");
        Assert.Equal(ids.Order(StringComparer.Ordinal), cluster.AllSubmits.Order(StringComparer.Ordinal)); // each once, by one node
        Assert.NotEmpty(cluster.Nodes[0].Provider.Submits);
        Assert.NotEmpty(cluster.Nodes[1].Provider.Submits);
    }

    [Fact]
    public async Task Stop_WithQueuedJobs_AnotherNodeTakesThemOverBeforeTheLeaseEnds()
    {
        await using var cluster = await ClusterHarness.StartAsync(2, p =>
        {
            p.MaxConcurrentJobs = 1;
            p.OnPoll = (_, _) => new PollOutcome.Running(10);
        });
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await a.SubmitAsync($"drain {i}")).Id);
        }

        // One runs on A, holding the provider's only slot; two wait in A's queue.
        await cluster.EventuallyAsync(() => Task.FromResult(a.Scheduler.Counts() is { Active: 1, Queued: 2 }), "node A runs one job and queues two");

        await a.DisposeAsync(); // a graceful stop: claims given up, the others woken

        // Without advancing the clock (no lease runs out), B claims all three: the running one to poll, the queued ones to wait.
        await cluster.EventuallyAsync(() => Task.FromResult(b.Scheduler.Counts() is { Active: 1, Queued: 2 }), "node B takes over the running job and the queue");
        Assert.Empty(b.Provider.Submits);
    }

    [Fact]
    public async Task Crash_NodeRunningJobs_AnotherNodeFinishesThemAfterTheLease()
    {
        var polls = 0;
        await using var cluster = await ClusterHarness.StartAsync(2, p => p.OnPoll = (_, _) => Volatile.Read(ref polls) > 0 ? new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false)) : new PollOutcome.Running(20));
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var ids = new[] { (await a.SubmitAsync("crash 1")).Id, (await a.SubmitAsync("crash 2")).Id };
        await cluster.EventuallyAsync(async () => (await cluster.GetAsync(ids[0])).Status == JobStatus.Running && (await cluster.GetAsync(ids[1])).Status == JobStatus.Running, "both run on A", Step);

        await a.CrashAsync();
        Interlocked.Increment(ref polls);

        await cluster.EventuallyAsync(async () => (await cluster.GetAsync(ids[0])).Status == JobStatus.Succeeded && (await cluster.GetAsync(ids[1])).Status == JobStatus.Succeeded, "B finishes both", Step);
        Assert.Empty(b.Provider.Submits); // taken over, not submitted again
        Assert.Equal(2, b.Provider.Polls.Select(p => p.JobId).Distinct().Count());
        await cluster.EventuallyAsync(() => Task.FromResult(cluster.Slots.TakenOf("sandbox") == 0), "every slot is given back");
    }
}
