using System.Net;
using System.Net.Sockets;
using Reelay.Jobs;

namespace Reelay.Net;

/// <summary>
/// The one HTTP client for every URL a client gives Reelay (first frames, webhooks). http and https only; every
/// connection's resolved address is checked by <see cref="AddressPolicy"/> at connect time; redirects are followed by
/// hand (at most 5) and re-checked; bodies are size-limited; the whole fetch is time-limited.
/// </summary>
public sealed class GuardedHttpClient : IDisposable
{
    private const int MaxRedirects = 5;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    /// <summary>Creates the client.</summary>
    public GuardedHttpClient(AddressPolicy policy, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,

            // No W3C trace headers to hosts that clients name.
            ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (context, ct) =>
            {
                var host = context.DnsEndPoint.Host;
                var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                    ? [literal]
                    : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
                var allowed = addresses.Where(policy.IsAllowed).ToArray();
                if (allowed.Length == 0)
                {
                    throw new BlockedAddressException(host);
                }

                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Reelay/1.0 (+guarded-fetch)");
    }

    /// <summary>
    /// GETs <paramref name="url"/> and returns at most <paramref name="maxBytes"/> of body. Failures are
    /// <see cref="ReelayException"/>s naming <paramref name="param"/> with a clear, client-safe message.
    /// </summary>
    public async Task<byte[]> GetBytesAsync(Uri url, long maxBytes, TimeSpan timeout, string param, string errorCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var current = url;
        try
        {
            for (var hop = 0; ; hop++)
            {
                CheckScheme(current, param);
                using var request = new HttpRequestMessage(HttpMethod.Get, current);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
                if (IsRedirect(response.StatusCode))
                {
                    if (hop >= MaxRedirects || response.Headers.Location is null)
                    {
                        throw new ReelayException(errorCode, $"'{param}' redirected too many times or without a Location.", param);
                    }

                    current = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(current, response.Headers.Location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new ReelayException(errorCode, $"Fetching '{param}' failed: the server answered HTTP {(int)response.StatusCode}.", param);
                }

                if (response.Content.Headers.ContentLength > maxBytes)
                {
                    throw new ReelayException(errorCode, $"'{param}' is {response.Content.Headers.ContentLength} bytes; at most {maxBytes} bytes are allowed.", param);
                }

                await using var body = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
                return await ReadLimitedAsync(body, maxBytes, param, errorCode, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReelayException(errorCode, $"Fetching '{param}' took longer than {timeout.TotalSeconds:0} s.", param);
        }
        catch (HttpRequestException ex) when (FindBlocked(ex) is { } blocked)
        {
            throw new ReelayException(errorCode, $"'{param}' points at {blocked.Host}, which resolves to a loopback, private, link-local, metadata or multicast address; Reelay does not fetch those.", param);
        }
        catch (HttpRequestException)
        {
            throw new ReelayException(errorCode, $"Fetching '{param}' failed: the host could not be reached.", param);
        }
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to a client-given URL (a webhook). Redirects are not followed (a 3xx is reported as
    /// such); the connected address is checked like every other; the call, up to the response headers, is limited by
    /// <paramref name="timeout"/>. Never throws for HTTP, network or address failures: the outcome says what happened.
    /// </summary>
    public async Task<GuardedPostOutcome> PostAsync(Uri url, ReadOnlyMemory<byte> body, string contentType, IEnumerable<KeyValuePair<string, string>> headers, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(headers);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            return new GuardedPostOutcome(GuardedPostFailure.SchemeNotAllowed, null, null);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ReadOnlyMemoryContent(body) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            var retryAfter = response.Headers.RetryAfter is { } ra
                ? ra.Delta ?? (ra.Date is { } date ? date - _time.GetUtcNow() : null)
                : null;
            return new GuardedPostOutcome(GuardedPostFailure.None, (int)response.StatusCode, retryAfter);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new GuardedPostOutcome(GuardedPostFailure.Timeout, null, null);
        }
        catch (HttpRequestException ex) when (FindBlocked(ex) is not null)
        {
            return new GuardedPostOutcome(GuardedPostFailure.BlockedAddress, null, null);
        }
        catch (HttpRequestException)
        {
            return new GuardedPostOutcome(GuardedPostFailure.Unreachable, null, null);
        }
    }

    private static BlockedAddressException? FindBlocked(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is BlockedAddressException blocked)
            {
                return blocked;
            }
        }

        return null;
    }

    private static void CheckScheme(Uri url, string param)
    {
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            throw ReelayException.Invalid(param, $"'{param}' uses the scheme '{url.Scheme}'; only http and https URLs are fetched.");
        }
    }

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static async Task<byte[]> ReadLimitedAsync(Stream body, long maxBytes, string param, string errorCode, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new ReelayException(errorCode, $"'{param}' is larger than allowed: at most {maxBytes} bytes are allowed.", param);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private sealed class BlockedAddressException(string host) : Exception($"{host} resolves only to blocked addresses.")
    {
        public string Host { get; } = host;
    }
}

/// <summary>Why a guarded POST got no HTTP answer.</summary>
public enum GuardedPostFailure
{
    /// <summary>The server answered; see <see cref="GuardedPostOutcome.StatusCode"/>.</summary>
    None = 0,
    /// <summary>The host resolves only to addresses the <see cref="AddressPolicy"/> refuses.</summary>
    BlockedAddress = 1,
    /// <summary>The host could not be resolved or connected to, or the connection broke.</summary>
    Unreachable = 2,
    /// <summary>No response headers within the time limit.</summary>
    Timeout = 3,
    /// <summary>The URL is not http or https.</summary>
    SchemeNotAllowed = 4,
}

/// <summary>The outcome of <see cref="GuardedHttpClient.PostAsync"/>.</summary>
/// <param name="Failure">Why there is no answer, or <see cref="GuardedPostFailure.None"/>.</param>
/// <param name="StatusCode">The HTTP status when the server answered.</param>
/// <param name="RetryAfter">The server's Retry-After, if it sent one.</param>
public sealed record GuardedPostOutcome(GuardedPostFailure Failure, int? StatusCode, TimeSpan? RetryAfter)
{
    /// <summary>Whether the server answered 2xx.</summary>
    public bool Succeeded => StatusCode is >= 200 and < 300;
}
