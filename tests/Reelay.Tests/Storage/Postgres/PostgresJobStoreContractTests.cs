using Reelay.Storage;

namespace Reelay.Tests.Storage.Postgres;

/// <summary>The job store contract (claims included), run unchanged against the PostgreSQL store.</summary>
public sealed class PostgresJobStoreContractTests : JobStoreContractTests, IAsyncLifetime
{
    private readonly PostgresTestStores _stores = new();

    protected override async Task<IJobStore> CreateStoreAsync() => await _stores.OpenAsync();

    protected override async Task<IJobStore> ReopenStoreAsync() => await _stores.OpenAsync();

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _stores.DisposeAsync();
}

/// <summary>The job store contract, run unchanged through the write-through cache over PostgreSQL (one node).</summary>
public sealed class PostgresCachingJobStoreContractTests : JobStoreContractTests, IAsyncLifetime
{
    private readonly PostgresTestStores _stores = new();

    protected override async Task<IJobStore> CreateStoreAsync() => new CachingJobStore(await _stores.OpenAsync(), capacity: 64);

    protected override async Task<IJobStore> ReopenStoreAsync() => new CachingJobStore(await _stores.OpenAsync(), capacity: 64);

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _stores.DisposeAsync();
}
