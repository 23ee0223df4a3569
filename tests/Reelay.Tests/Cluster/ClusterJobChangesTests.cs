using Reelay.Cluster;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;
using Reelay.Tests.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Cluster;

public sealed class ClusterJobChangesTests
{
    [Fact]
    public async Task Publish_OnOneNode_ReachesTheOthersButNotItself()
    {
        var bus = new InProcessSignalBus();
        await using var a = new InProcessClusterSignals("a", bus);
        await using var b = new InProcessClusterSignals("b", bus);
        var heardByA = new List<ClusterSignal>();
        var heardByB = new TaskCompletionSource<ClusterSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subA = a.Subscribe(ClusterChannels.Wake, s => heardByA.Add(s));
        using var subB = b.Subscribe(ClusterChannels.Wake, s => heardByB.TrySetResult(s));
        using var otherChannel = b.Subscribe(ClusterChannels.SlotFreed, _ => throw new InvalidOperationException("wrong channel"));

        a.Publish(ClusterChannels.Wake, "hello");

        var heard = await heardByB.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new ClusterSignal(ClusterChannels.Wake, "a", "hello"), heard);
        Assert.True(a.IsShared);
        Assert.Empty(heardByA);
    }

    [Fact]
    public async Task IsShared_OneNodeAlone_FalseAndPublishingReachesNobody()
    {
        await using var alone = new InProcessClusterSignals("alone");
        var heard = 0;
        using var subscription = alone.Subscribe(ClusterChannels.Wake, _ => heard++);

        alone.Publish(ClusterChannels.Wake, "");
        await Task.Delay(50);

        Assert.False(alone.IsShared);
        Assert.Equal(0, heard);
    }

    [Fact]
    public async Task RemoteChange_CachedOlderVersion_IsDroppedThenListenersHear()
    {
        var shared = new InMemoryJobStore();
        var cacheA = new CachingJobStore(shared, 100);
        var cacheB = new CachingJobStore(shared, 100);
        var bus = new InProcessSignalBus();
        await using var signalsA = new InProcessClusterSignals("a", bus);
        await using var signalsB = new InProcessClusterSignals("b", bus);
        using var changesA = new ClusterJobChanges(signalsA, cacheA);
        using var changesB = new ClusterJobChanges(signalsB, cacheB);
        var heard = new TaskCompletionSource<(string, long, Job?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        changesB.RemoteChanged += (id, version) => heard.TrySetResult((id, version, cacheB.GetAsync(id, CancellationToken.None).Result));

        var job = await cacheA.InsertAsync(TestJobs.New(), CancellationToken.None);
        Assert.Equal(JobStatus.Queued, (await cacheB.GetAsync(job.Id, CancellationToken.None))!.Status); // B caches version 1
        var transitions = new JobTransitions(cacheA, TimeProvider.System, new JobObservers([changesA]));
        var cancelled = (await transitions.TryAsync(job.Id, _ => true, j => j with { Status = JobStatus.Cancelled }, CancellationToken.None)).Updated!;

        var (heardId, heardVersion, readByB) = await heard.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((job.Id, cancelled.Version), (heardId, heardVersion));
        Assert.Equal(JobStatus.Cancelled, readByB!.Status); // read through B's cache: the old copy was dropped
    }

    [Fact]
    public void Forget_OlderCopyArrivingAfterTheSignal_IsNotCached()
    {
        var cache = new CachingJobStore(new InMemoryJobStore(), 100);
        var v1 = TestJobs.New() with { Version = 1 };

        cache.Forget(v1.Id, 2);
        cache.Remember(v1); // a read from the database that raced the signal
        cache.Remember(v1 with { Version = 2 });

        Assert.Equal(1, cache.Count);
        cache.Forget(v1.Id, 3);
        Assert.Equal(0, cache.Count);
    }

    [Theory]
    [InlineData("job_1 7", true, "job_1", 7)]
    [InlineData("job_1", false, "", 0)]
    [InlineData("job_1 -1", false, "job_1", 0)]
    [InlineData(" 3", false, "", 0)]
    public void TryParse_Payloads_ReadsOnlyIdAndVersion(string payload, bool ok, string id, long version)
    {
        Assert.Equal(ok, ClusterJobChanges.TryParse(payload, out var parsedId, out var parsedVersion));
        if (ok)
        {
            Assert.Equal((id, version), (parsedId, parsedVersion));
        }
    }
}
