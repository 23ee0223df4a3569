using System.Collections.Concurrent;
using Npgsql;
using Reelay.Accounts;
using Reelay.Jobs;
using Reelay.Storage;
using Reelay.Storage.Postgres;
using Reelay.Testing;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>
/// What only the PostgreSQL store has to get right: several gateway nodes (separate store instances, each with its own
/// connection pool, as separate processes have) on one database at once, and a clear start-up error for a bad login.
/// </summary>
public sealed class PostgresSeveralNodesTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private readonly PostgresTestStores _stores = new();

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task ClaimDueAsync_TwoNodesRacing_NeverClaimTheSameJob()
    {
        var nodeA = await _stores.OpenAsync();
        var nodeB = await _stores.OpenAsync();
        var ids = new List<string>();
        for (var i = 0; i < 120; i++)
        {
            ids.Add((await nodeA.InsertAsync(TestJobs.New(), Ct)).Id);
        }

        var claimedBy = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        async Task ClaimUntilEmptyAsync(PostgresJobStore node, string owner)
        {
            while (true)
            {
                var batch = await node.ClaimDueAsync(owner, TestJobs.Epoch, Lease, 5, Ct);
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var job in batch)
                {
                    claimedBy.GetOrAdd(job.Id, _ => []).Add(owner);
                }
            }
        }

        // Four claimers per node, all at once.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => ClaimUntilEmptyAsync(i % 2 == 0 ? nodeA : nodeB, $"node-{(i % 2 == 0 ? 'a' : 'b')}-{i}")));

        Assert.Equal(ids.Order(StringComparer.Ordinal), claimedBy.Keys.Order(StringComparer.Ordinal));
        Assert.All(claimedBy, pair => Assert.Single(pair.Value));
        Assert.Contains(claimedBy.Values, owners => owners.Single().StartsWith("node-a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CloseChargeAsync_TwoNodesSettlingAndReleasingTheSameHold_MovesTheMoneyOnce()
    {
        var nodeA = await _stores.OpenAsync();
        var nodeB = await _stores.OpenAsync();
        await nodeA.CreateKeyAsync(new ApiKeyRecord { Id = "key_race", Name = "race", Scope = ApiKeyScope.Client, CreatedAt = TestJobs.Epoch, BudgetMicros = 10_000_000 }, "hash-race", Ct);
        var job = TestJobs.New(owner: "key_race");
        await nodeA.InsertAsync(job, new JobAdmission { KeyId = "key_race", Tier = "720p", PricePerSecondMicros = 100_000, HoldMicros = 500_000 }, Ct);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
        {
            IAccountStore node = i % 2 == 0 ? nodeA : nodeB;
            var closure = i % 3 == 0
                ? new ChargeClosure(ChargeState.Released, 0, 0, "failed upstream")
                : new ChargeClosure(ChargeState.Settled, 300_000, 3, "succeeded");
            return Task.Run(async () => (Won: await node.CloseChargeAsync(job.Id, closure, TestJobs.Epoch.AddMinutes(1), Ct), closure));
        }));

        var winner = Assert.Single(outcomes, o => o.Won).closure;
        var key = (await nodeB.GetKeyAsync("key_race", Ct))!;
        Assert.Equal((0L, 0), (key.HeldMicros, key.JobsInFlight));
        Assert.Equal(winner.State == ChargeState.Settled ? 300_000 : 0, key.SpentMicros);
        Assert.Equal(winner.State, (await nodeA.GetChargeAsync(job.Id, Ct))!.State);
    }

    [Fact]
    public async Task InsertAsync_TwoNodesAdmittingOverAnInFlightLimit_AdmitExactlyTheLimit()
    {
        var nodeA = await _stores.OpenAsync();
        var nodeB = await _stores.OpenAsync();
        await nodeA.CreateKeyAsync(new ApiKeyRecord { Id = "key_limit", Name = "limit", Scope = ApiKeyScope.Client, CreatedAt = TestJobs.Epoch, MaxJobsInFlight = 3, BudgetMicros = 1_000_000 }, "hash-limit", Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            IJobStore node = i % 2 == 0 ? nodeA : nodeB;
            try
            {
                await node.InsertAsync(TestJobs.New(owner: "key_limit"), new JobAdmission { KeyId = "key_limit", Tier = "720p", PricePerSecondMicros = 10_000, HoldMicros = 50_000 }, Ct);
                return true;
            }
            catch (AdmissionRefusedException)
            {
                return false;
            }
        })));

        Assert.Equal(3, results.Count(admitted => admitted));
        var key = (await nodeA.GetKeyAsync("key_limit", Ct))!;
        Assert.Equal((3, 150_000L), (key.JobsInFlight, key.HeldMicros));
    }

    [Fact]
    public async Task InsertAsync_TwoNodesSameIdempotencyKey_OneJobIsCreated()
    {
        var nodeA = await _stores.OpenAsync();
        var nodeB = await _stores.OpenAsync();
        await nodeA.CreateKeyAsync(new ApiKeyRecord { Id = "key_idem", Name = "idem", Scope = ApiKeyScope.Client, CreatedAt = TestJobs.Epoch }, "hash-idem", Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            IJobStore node = i % 2 == 0 ? nodeA : nodeB;
            try
            {
                return (await node.InsertAsync(TestJobs.New(owner: "key_idem"), new JobAdmission { KeyId = "key_idem", Tier = "720p", PricePerSecondMicros = 0, HoldMicros = 0, IdempotencyKey = "order-7", Fingerprint = "f" }, Ct)).Id;
            }
            catch (IdempotencyKeyUsedException)
            {
                return null;
            }
        })));

        var created = Assert.Single(results, id => id is not null);
        Assert.Equal(created, (await nodeB.FindIdempotencyAsync("key_idem", "order-7", Ct))!.JobId);
        Assert.Equal(1, (await nodeA.GetKeyAsync("key_idem", Ct))!.JobsInFlight);
    }

    [Fact]
    public async Task MigrateAsync_SeveralNodesStartingTogether_ApplyEachMigrationOnce()
    {
        var database = await _stores.DatabaseAsync();
        var nodes = Enumerable.Range(0, 4).Select(_ => new PostgresJobStore(database.ConnectionString)).ToList();
        try
        {
            var versions = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.MigrateAsync(Ct))));

            Assert.All(versions, v => Assert.Equal(PostgresJobStore.Migrations.Count, v));
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations", connection);
            Assert.Equal(string.Join(',', Enumerable.Range(1, PostgresJobStore.Migrations.Count)), await command.ExecuteScalarAsync());
            Assert.Equal(PostgresJobStore.Migrations.Count, await nodes[0].MigrateAsync(Ct));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task InitializeAsync_WrongPassword_ThrowsAClearErrorWithoutTheSecret()
    {
        var database = await _stores.DatabaseAsync();
        const string secret = "not-the-password-7f3a9c";
        await using var store = new PostgresJobStore(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = secret }.ConnectionString);

        var error = await Assert.ThrowsAsync<StoreConnectionException>(() => store.InitializeAsync(Ct));

        if (Environment.GetEnvironmentVariable(PostgresTestCluster.ServerVariable) is not { Length: > 0 })
        {
            // The private cluster checks passwords on TCP (scram-sha-256); a server of yours may trust the connection.
            Assert.Contains("refused the login", error.Message, StringComparison.Ordinal);
        }

        Assert.Contains("Reelay:Store:ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_NothingListening_ThrowsAClearErrorNamingTheServer()
    {
        await using var store = new PostgresJobStore("Host=127.0.0.1;Port=1;Database=reelay;Username=reelay;Password=secret-xyz;Timeout=3");

        var error = await Assert.ThrowsAsync<StoreConnectionException>(() => store.InitializeAsync(Ct));

        Assert.Contains("127.0.0.1:1/reelay", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-xyz", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_SchemaNewerThanBuild_ThrowsNamingTheVersion()
    {
        await _stores.OpenAsync();
        var database = await _stores.DatabaseAsync();
        var future = PostgresJobStore.LatestSchemaVersion + 1;
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({future}, 'future', 0)", connection);
            await command.ExecuteNonQueryAsync();
        }

        await using var newer = new PostgresJobStore(database.ConnectionString);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitializeAsync(Ct));

        Assert.Contains($"version {future}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InitializeAsync_NewDatabase_RecordsEveryMigrationAndGivesUnfinishedJobsAFreeClaim()
    {
        var store = await _stores.OpenAsync();
        var queued = await store.InsertAsync(TestJobs.New(), Ct);
        await store.InsertAsync(TestJobs.New(status: JobStatus.Succeeded), Ct);

        await using var connection = new NpgsqlConnection((await _stores.DatabaseAsync()).ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT string_agg(job_id, ',') FROM job_claims WHERE holder IS NULL AND due_at = 0", connection);
        Assert.Equal(queued.Id, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Evict_JobChangedByAnotherNode_NextReadSeesTheChange()
    {
        var cachedNode = new CachingJobStore(await _stores.OpenAsync(), capacity: 64);
        var otherNode = await _stores.OpenAsync();
        var job = await cachedNode.InsertAsync(TestJobs.New(), Ct);
        var changed = await otherNode.TryUpdateAsync(job with { Status = JobStatus.Running, Progress = 40 }, Ct);
        Assert.NotNull(changed);
        Assert.Equal(JobStatus.Queued, (await cachedNode.GetAsync(job.Id, Ct))!.Status); // The snapshot this node holds.

        cachedNode.Evict(job.Id);

        Assert.Equal((JobStatus.Running, 40, 2L), ((await cachedNode.GetAsync(job.Id, Ct))!.Status, (await cachedNode.GetAsync(job.Id, Ct))!.Progress, (await cachedNode.GetAsync(job.Id, Ct))!.Version));
    }

    [Fact]
    public async Task ClaimDueAsync_TwoNodesTakingWebhookDeliveries_EachIsHandedOutOnceUntilItsLeaseEnds()
    {
        var nodeA = new PostgresWebhookStore(await _stores.OpenAsync());
        var nodeB = new PostgresWebhookStore(await _stores.OpenAsync());
        var expected = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var delivery = new Reelay.Webhooks.WebhookDelivery
            {
                Id = $"msg_{i:D3}", JobId = $"video_{i:D3}", Owner = "key_a", EventType = "video.completed", Sequence = 1,
                Url = "https://example.com/hook", Payload = [1, 2, 3], CreatedAt = TestJobs.Epoch, NextAttemptAt = TestJobs.Epoch,
            };
            Assert.True(await nodeA.EnqueueAsync(delivery, Ct));
            expected.Add(delivery.Id);
        }

        var none = new HashSet<string>();
        var taken = new ConcurrentBag<string>();
        async Task TakeUntilEmptyAsync(PostgresWebhookStore node)
        {
            while ((await node.ClaimDueAsync(TestJobs.Epoch, TimeSpan.FromMinutes(2), 3, none, Ct)) is { Count: > 0 } batch)
            {
                foreach (var delivery in batch)
                {
                    taken.Add(delivery.Id);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => TakeUntilEmptyAsync(i % 2 == 0 ? nodeA : nodeB))));

        Assert.Equal(expected, taken.Order(StringComparer.Ordinal));
        Assert.Empty(await nodeB.ClaimDueAsync(TestJobs.Epoch.AddMinutes(1), TimeSpan.FromMinutes(2), 100, none, Ct));
        Assert.Equal(40, (await nodeB.ClaimDueAsync(TestJobs.Epoch.AddMinutes(2), TimeSpan.FromMinutes(2), 100, none, Ct)).Count); // The leases ended.
    }

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _stores.DisposeAsync();
}
