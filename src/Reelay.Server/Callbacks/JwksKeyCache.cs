using System.Collections.Concurrent;
using System.Text.Json;

namespace Reelay.Server.Callbacks;

/// <summary>
/// The signing keys of JWKS documents for the webhook verifiers (fal's Ed25519, Veo's RSA), per JWKS URL: fetched once and
/// kept for <see cref="CacheFor"/>; fetched again, at most once a minute, when no cached key verifies (keys rotate). A
/// failed fetch (unreachable, not 2xx, over 64 KiB, unreadable) leaves the keys held before (none the first time), and the
/// next fetch may come a minute later: no keys, no verification, so the callback is refused and polling still finishes
/// the job. Hand-written because Microsoft.IdentityModel's ConfigurationManager reads the system clock, not the injected
/// TimeProvider, and knows no Ed25519 keys; the signature checks themselves stay with each verifier's library.
/// </summary>
/// <typeparam name="TKey">The verifier's key type.</typeparam>
internal sealed class JwksKeyCache<TKey> : IDisposable
{
    /// <summary>How long fetched keys are used.</summary>
    public static TimeSpan CacheFor { get; } = TimeSpan.FromHours(12);

    /// <summary>The shortest time between two fetches of one URL when no key verifies, or after a failed fetch.</summary>
    public static TimeSpan RefetchAtMostEvery { get; } = TimeSpan.FromMinutes(1);

    private const int MaxJwksBytes = 64 * 1024;

    private readonly TimeProvider _time;
    private readonly Func<byte[], IReadOnlyList<TKey>> _parse;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<Uri, (DateTimeOffset FetchedAt, IReadOnlyList<TKey> Keys)> _keys = new();
    private readonly SemaphoreSlim _fetchGate = new(1, 1);

    /// <summary>Creates the cache; <paramref name="parse"/> reads the verifier's keys out of a JWKS body (an ArgumentException or JsonException is a failed fetch).</summary>
    /// <param name="time">The gateway's clock.</param>
    /// <param name="parse">Reads the keys of a JWKS body.</param>
    /// <param name="handler">The HTTP handler (tests); by default one that follows no redirect.</param>
    public JwksKeyCache(TimeProvider time, Func<byte[], IReadOnlyList<TKey>> parse, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(parse);
        _time = time;
        _parse = parse;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>
    /// True when <paramref name="verify"/> accepts the cached keys of <paramref name="jwks"/>, or, when it does not, the keys
    /// fetched again (if a fetch is due and brings other keys).
    /// </summary>
    public async Task<bool> VerifyAsync(Uri jwks, Func<IReadOnlyList<TKey>, ValueTask<bool>> verify, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jwks);
        ArgumentNullException.ThrowIfNull(verify);
        var keys = await KeysAsync(jwks, refresh: false, cancellationToken).ConfigureAwait(false);
        if (await verify(keys).ConfigureAwait(false))
        {
            return true;
        }

        var again = await KeysAsync(jwks, refresh: true, cancellationToken).ConfigureAwait(false);
        return !ReferenceEquals(again, keys) && await verify(again).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _fetchGate.Dispose();
    }

    private async Task<IReadOnlyList<TKey>> KeysAsync(Uri jwks, bool refresh, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_keys.TryGetValue(jwks, out var cached) && now - cached.FetchedAt < (refresh ? RefetchAtMostEvery : CacheFor))
        {
            return cached.Keys;
        }

        await _fetchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_keys.TryGetValue(jwks, out cached) && now - cached.FetchedAt < (refresh ? RefetchAtMostEvery : CacheFor))
            {
                return cached.Keys;
            }

            try
            {
                var keys = _parse(await FetchAsync(jwks, cancellationToken).ConfigureAwait(false));
                _keys[jwks] = (now, keys);
                return keys;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or JsonException or TaskCanceledException or InvalidDataException or ArgumentException)
            {
                // The failure is kept for a minute only, so the next callback after it fetches again.
                var keys = cached.Keys ?? [];
                _keys[jwks] = (now - CacheFor + RefetchAtMostEvery, keys);
                return keys;
            }
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    private async Task<byte[]> FetchAsync(Uri jwks, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(jwks, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentLength > MaxJwksBytes)
        {
            throw new InvalidDataException("JWKS too large");
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return bytes.Length > MaxJwksBytes ? throw new InvalidDataException("JWKS too large") : bytes;
    }
}
