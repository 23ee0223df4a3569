using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reelay.Cluster;
using Reelay.Storage.Postgres;
using Reelay.Testing;

namespace Reelay.Tests.Cluster;

/// <summary>The PostgreSQL side of the cluster seam against a real (private) PostgreSQL.</summary>
public sealed class PostgresClusterTests
{
    [Fact]
    public async Task Publish_OnOneNode_ReachesTheOtherNodeButNotItself()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var a = new PostgresNotifications(database.ConnectionString, "node-a", NullLogger<PostgresNotifications>.Instance);
        await using var b = new PostgresNotifications(database.ConnectionString, "node-b", NullLogger<PostgresNotifications>.Instance);
        await Task.WhenAll(a.Listening, b.Listening).WaitAsync(TimeSpan.FromSeconds(20));
        var heardByB = new TaskCompletionSource<ClusterSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        var heardByA = 0;
        using var subA = a.Subscribe(ClusterChannels.JobChanged, _ => Interlocked.Increment(ref heardByA));
        using var subB = b.Subscribe(ClusterChannels.JobChanged, s => heardByB.TrySetResult(s));

        a.Publish(ClusterChannels.JobChanged, ClusterJobChanges.Format("job_abc", 3));

        var heard = await heardByB.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new ClusterSignal(ClusterChannels.JobChanged, "node-a", "job_abc 3"), heard);
        await Task.Delay(200);
        Assert.Equal(0, Volatile.Read(ref heardByA));
    }

    [Fact]
    public async Task Listen_ConnectionKilled_ReconnectsResynchronizesAndHearsAgain()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var a = new PostgresNotifications(database.ConnectionString, "node-a", NullLogger<PostgresNotifications>.Instance);
        await using var b = new PostgresNotifications(database.ConnectionString, "node-b", NullLogger<PostgresNotifications>.Instance);
        await Task.WhenAll(a.Listening, b.Listening).WaitAsync(TimeSpan.FromSeconds(20));
        var resynchronized = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Resynchronize += () => resynchronized.TrySetResult();
        var heard = new TaskCompletionSource<ClusterSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sub = b.Subscribe(ClusterChannels.Wake, s => heard.TrySetResult(s));

        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'reelay-node node-b'", admin);
            Assert.Equal(1L, await kill.ExecuteScalarAsync());
        }

        await resynchronized.Task.WaitAsync(TimeSpan.FromSeconds(15));
        a.Publish(ClusterChannels.Wake, "");
        Assert.Equal("node-a", (await heard.Task.WaitAsync(TimeSpan.FromSeconds(10))).Origin);
    }

    [Fact]
    public async Task IsLeader_TwoNodes_ExactlyOneLeadsAndTheOtherTakesOverWhenItStops()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        var a = new PostgresNotifications(database.ConnectionString, "node-a", NullLogger<PostgresNotifications>.Instance);
        await using var b = new PostgresNotifications(database.ConnectionString, "node-b", NullLogger<PostgresNotifications>.Instance);
        await Task.WhenAll(a.Listening, b.Listening).WaitAsync(TimeSpan.FromSeconds(20));
        await EventuallyAsync(() => a.IsLeader || b.IsLeader, "one node leads");
        Assert.False(a.IsLeader && b.IsLeader);
        var (leader, other) = a.IsLeader ? (a, b) : (b, a);
        await Task.Delay(2500); // a few more rounds of the other's attempts: still one leader
        Assert.True(leader.IsLeader);
        Assert.False(other.IsLeader);

        if (leader == a)
        {
            await a.DisposeAsync();
            await EventuallyAsync(() => b.IsLeader, "node b leads after node a stopped");
        }
        else
        {
            await b.DisposeAsync();
            await EventuallyAsync(() => a.IsLeader, "node a leads after node b stopped");
        }

        await a.DisposeAsync();
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting until " + what);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task TryAcquire_ManyJobsFromTwoNodesAtOnce_NeverMoreThanTheLimit()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var nodeA = new PostgresProviderSlots(database.ConnectionString);
        await using var nodeB = new PostgresProviderSlots(database.ConnectionString);

        var attempts = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? nodeA : nodeB).TryAcquireAsync("mv", $"job_{i}", 5, CancellationToken.None));
        var granted = await Task.WhenAll(attempts);

        Assert.Equal(5, granted.Count(g => g));
        Assert.Equal(5, (await nodeA.ListAsync(CancellationToken.None)).Count(s => s.Provider == "mv"));
        var holder = (await nodeB.ListAsync(CancellationToken.None))[0].JobId;
        Assert.True(await nodeB.TryAcquireAsync("mv", holder, 5, CancellationToken.None)); // a holder asking again keeps its slot
        Assert.False(await nodeB.TryAcquireAsync("mv", "job_late", 5, CancellationToken.None));
        Assert.True(await nodeB.TryAcquireAsync("other", "job_late", 1, CancellationToken.None)); // limits are per provider

        await nodeA.ReleaseAsync("other", holder, CancellationToken.None); // not its provider: nothing happens
        Assert.False(await nodeA.TryAcquireAsync("mv", "job_late2", 5, CancellationToken.None));
        await nodeA.ReleaseAsync("mv", holder, CancellationToken.None);
        Assert.True(await nodeA.TryAcquireAsync("mv", "job_late2", 5, CancellationToken.None));

        await nodeB.HoldAsync("mv", "job_taken_over", CancellationToken.None); // over the limit: already at the upstream
        Assert.Equal(6, (await nodeB.ListAsync(CancellationToken.None)).Count(s => s.Provider == "mv"));
    }
}
