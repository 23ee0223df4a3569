using Microsoft.Extensions.Time.Testing;
using Reelay.Accounts;
using Reelay.Tests.Storage;

namespace Reelay.Tests.Accounts;

/// <summary>
/// Issue 16 item 8: keys verified by the exact secret presented are answered without hashing, and the cache never lets a
/// revoked or expired key through: revocation on this node empties it at once, expiry is checked on every hit, another
/// node's revocation counts after Reelay:Accounts:KeyCacheLifetime as before, and it evicts when full. Over real SQLite.
/// </summary>
public sealed class VerifiedKeyCacheTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 6, 0, 0, TimeSpan.Zero);
    private readonly SqliteTestDatabase _database = new();
    private readonly FakeTimeProvider _clock = new(Start);
    private Reelay.Storage.Sqlite.SqliteJobStore _store = null!;

    public async Task InitializeAsync() => _store = await _database.OpenAsync(_clock);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private ApiKeyService Service(TimeSpan? lifetime = null, int capacity = VerifiedKeyCache.DefaultCapacity) =>
        new(_store, _clock, new ReelayOptions { Accounts = new AccountsOptions { KeyCacheLifetime = lifetime ?? TimeSpan.FromSeconds(5) } }, capacity);

    private static Task<(ApiKeyRecord Key, string Secret)> CreateAsync(ApiKeyService service, string name = "k", DateTimeOffset? expires = null) =>
        service.CreateAsync(new NewApiKey { Name = name, ExpiresAt = expires }, CancellationToken.None);

    [Fact]
    public async Task AuthenticateAsync_VerifiedOnce_NextAnsweredFromCacheWithoutTheStore()
    {
        var service = Service();
        var (key, secret) = await CreateAsync(service);
        Assert.False(service.TryAuthenticateVerified(secret, out _));

        Assert.Equal(key.Id, (await service.AuthenticateAsync(secret, CancellationToken.None))?.Id);

        Assert.True(service.TryAuthenticateVerified(secret, out var cached));
        Assert.Equal(key.Id, cached?.Id);
    }

    [Fact]
    public async Task RevokeAsync_KeyCached_RefusedAtOnce()
    {
        var service = Service(TimeSpan.FromMinutes(10));
        var (key, secret) = await CreateAsync(service);
        Assert.NotNull(await service.AuthenticateAsync(secret, CancellationToken.None));
        Assert.True(service.TryAuthenticateVerified(secret, out _));

        await service.RevokeAsync(key.Id, CancellationToken.None);

        Assert.False(service.TryAuthenticateVerified(secret, out _));
        Assert.Null(await service.AuthenticateAsync(secret, CancellationToken.None));
        Assert.False(service.TryAuthenticateVerified(secret, out _));
    }

    [Fact]
    public async Task UpdateAsync_ExpiryMovedIntoThePast_CachedKeyRefusedAtOnce()
    {
        var service = Service(TimeSpan.FromMinutes(10));
        var (key, secret) = await CreateAsync(service, expires: Start.AddHours(1));
        Assert.NotNull(await service.AuthenticateAsync(secret, CancellationToken.None));
        await service.UpdateAsync(key.Id, new ApiKeyChanges { ExpiresAt = Start.AddMinutes(1) }, CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Null(await service.AuthenticateAsync(secret, CancellationToken.None));
    }

    [Fact]
    public async Task TryAuthenticateVerified_KeyExpiredWhileCached_AnswersRefused()
    {
        var service = Service(TimeSpan.FromMinutes(10));
        var (_, secret) = await CreateAsync(service, expires: Start.AddMinutes(1));
        Assert.NotNull(await service.AuthenticateAsync(secret, CancellationToken.None));

        _clock.Advance(TimeSpan.FromMinutes(1));

        Assert.True(service.TryAuthenticateVerified(secret, out var cached));
        Assert.Null(cached);
        Assert.Null(await service.AuthenticateAsync(secret, CancellationToken.None));
    }

    [Fact]
    public async Task AuthenticateAsync_RevokedByAnotherNode_RefusedOnceTheCacheLifetimePassed()
    {
        var here = Service(TimeSpan.FromSeconds(5));
        var other = Service();
        var (key, secret) = await CreateAsync(here);
        Assert.NotNull(await here.AuthenticateAsync(secret, CancellationToken.None));

        await other.RevokeAsync(key.Id, CancellationToken.None);

        // Within the lifetime this node still has its answer (documented: revocation reaches other nodes within it) ...
        Assert.NotNull(await here.AuthenticateAsync(secret, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(6));

        // ... and not one request later.
        Assert.False(here.TryAuthenticateVerified(secret, out _));
        Assert.Null(await here.AuthenticateAsync(secret, CancellationToken.None));
    }

    [Fact]
    public async Task TryAuthenticateVerified_SameLengthOtherSecret_NotAHit()
    {
        var service = Service();
        var (_, secret) = await CreateAsync(service);
        Assert.NotNull(await service.AuthenticateAsync(secret, CancellationToken.None));
        var wrong = secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A');

        Assert.False(service.TryAuthenticateVerified(wrong, out _));
        Assert.Null(await service.AuthenticateAsync(wrong, CancellationToken.None));
        Assert.False(service.TryAuthenticateVerified(wrong, out _));
    }

    [Fact]
    public async Task AuthenticateAsync_CacheFull_OldestVerifiedEvictedOthersKept()
    {
        var service = Service(TimeSpan.FromMinutes(10), capacity: 2);
        var first = await CreateAsync(service, "first");
        var second = await CreateAsync(service, "second");
        var third = await CreateAsync(service, "third");
        foreach (var (_, secret) in new[] { first, second, third })
        {
            Assert.NotNull(await service.AuthenticateAsync(secret, CancellationToken.None));
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.False(service.TryAuthenticateVerified(first.Secret, out _));
        Assert.True(service.TryAuthenticateVerified(second.Secret, out _));
        Assert.True(service.TryAuthenticateVerified(third.Secret, out _));

        // An evicted key still authenticates, through the store.
        Assert.Equal(first.Key.Id, (await service.AuthenticateAsync(first.Secret, CancellationToken.None))?.Id);
    }

    [Fact]
    public void Add_KeyForgottenSinceTheStoreRead_NotKept()
    {
        var cache = new VerifiedKeyCache(8);
        var record = new ApiKeyRecord { Id = "key_a", Name = "a", Scope = ApiKeyScope.Client, CreatedAt = Start };
        var generation = cache.Generation;

        cache.Forget("key_a");
        cache.Add("rk_a_secret", record, Start, generation);

        Assert.False(cache.TryGet("rk_a_secret", out _, out _));
        Assert.Equal(0, cache.Count);
        cache.Add("rk_a_secret", record, Start, cache.Generation);
        Assert.True(cache.TryGet("rk_a_secret", out var kept, out _));
        Assert.Same(record, kept);
    }

    [Fact]
    public void New_CapacityBelowOne_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => new VerifiedKeyCache(0));
}
