using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.RateLimiting;

namespace Reelay.Providers.Http;

/// <summary>
/// One provider instance's HTTP client: its base URL, a per-call timeout, and a request-rate limit shared by every
/// submit, poll and download of the instance. Transport failures become <see cref="UpstreamTransportException"/> with
/// a kind the adapters classify; nothing here retries or sleeps beyond waiting for a rate-limit permit.
/// </summary>
public sealed class UpstreamHttpClient : IDisposable
{
    /// <summary>Largest JSON reply read into memory.</summary>
    public const int MaxReplyBytes = 1024 * 1024;

    /// <summary>Largest request body buffered to learn its length (a first frame inline is at most 50 MB, as Base64 about 67 MB).</summary>
    public const int MaxRequestBytes = 96 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly RateLimiter? _limiter;
    private readonly TimeProvider _time;
    private long _requests;
    private long _consecutiveFailures;

    /// <summary>
    /// Creates the client. <paramref name="handler"/> is for tests; by default a pooled SocketsHttpHandler.
    /// <paramref name="rateLimits"/> makes the request-rate limiter (by default a local token bucket; several nodes on
    /// PostgreSQL share one through the database).
    /// </summary>
    public UpstreamHttpClient(string instance, Uri baseUrl, TimeSpan timeout, double maxRequestsPerSecond, TimeProvider time, HttpMessageHandler? handler = null, Cluster.IUpstreamRateLimits? rateLimits = null)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        Instance = instance;
        BaseUrl = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        Timeout = timeout;
        _time = time;
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = timeout < TimeSpan.FromSeconds(10) ? timeout : TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            AllowAutoRedirect = false,

            // No W3C trace headers to third parties: Reelay's trace ids are its own business.
            ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Reelay", "1.0"));
        _limiter = maxRequestsPerSecond > 0 ? (rateLimits ?? Cluster.LocalUpstreamRateLimits.Instance).Create(instance, maxRequestsPerSecond) : null;
    }

    /// <summary>The instance name, for logs.</summary>
    public string Instance { get; }

    /// <summary>The base URL, always ending in '/'.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The per-call timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Requests sent so far (for diagnostics and benchmarks).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>
    /// Calls in a row that failed in transport (no answer, timeout, unreadable reply) or were answered with a 5xx; any
    /// other answer except 429 resets it. What the readiness check reports for the instance.
    /// </summary>
    public long ConsecutiveFailures => Interlocked.Read(ref _consecutiveFailures);

    /// <summary>An absolute URL for a path relative to the base URL (no leading '/').</summary>
    public Uri Url(string relative) => new(BaseUrl, relative.TrimStart('/'));

    /// <summary>Whether <paramref name="url"/> is on this instance's own origin (the only place its credential may go).</summary>
    public bool IsOwnOrigin(Uri url) => url is not null && Uri.Compare(url, BaseUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>Sends a request and reads a bounded reply. Throws <see cref="UpstreamTransportException"/> for transport failures.</summary>
    public async Task<UpstreamReply> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var lease = await AcquireAsync(cancellationToken).ConfigureAwait(false);

        // Inside a submit, the engine durably records the call now: after the rate-limit wait, before anything is sent.
        await SubmitSend.BeforeSendAsync(cancellationToken).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await WithContentLengthAsync(request.Content, linked.Token).ConfigureAwait(false);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var body = await ReadBoundedAsync(response.Content, MaxReplyBytes, linked.Token).ConfigureAwait(false);
            if ((int)response.StatusCode >= 500)
            {
                Interlocked.Increment(ref _consecutiveFailures);
            }
            else if (response.StatusCode != HttpStatusCode.TooManyRequests)
            {
                Interlocked.Exchange(ref _consecutiveFailures, 0);
            }

            return new UpstreamReply(response.StatusCode, RetryAfter(response.Headers, _time.GetUtcNow()), body, response.Content.Headers.ContentType?.MediaType);
        }
        catch (Exception ex) when (Translate(ex, cancellationToken, timeout.Token) is { } translated)
        {
            Interlocked.Increment(ref _consecutiveFailures);
            throw translated;
        }
    }

    /// <summary>
    /// Makes a request body go out with a Content-Length instead of Transfer-Encoding: chunked. Content whose length is not
    /// known up front (JsonContent, a stream) is buffered first: upstream bodies are small, and some gateways answer a
    /// chunked request with 411 Length Required.
    /// </summary>
    internal static async Task WithContentLengthAsync(HttpContent? content, CancellationToken cancellationToken)
    {
        if (content is not null && content.Headers.ContentLength is null)
        {
            await content.LoadIntoBufferAsync(MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Streams <paramref name="url"/> into <paramref name="destination"/>. <paramref name="authorize"/> adds the credential,
    /// and is applied only when the URL is on the instance's own origin (a CDN never sees the key). Redirects are followed
    /// by hand, at most 5, and the credential is dropped when one leaves the origin.
    /// </summary>
    public async Task DownloadAsync(Uri url, Action<HttpRequestHeaders>? authorize, Stream destination, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(destination);
        using var timeout = new CancellationTokenSource(Timeout * 10, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var current = url;
        for (var hop = 0; hop <= 5; hop++)
        {
            if (current.Scheme is not ("http" or "https"))
            {
                throw new UpstreamTransportException(UpstreamFailureKind.BadReply, $"the result URL scheme '{current.Scheme}' is not http or https");
            }

            using var lease = await AcquireAsync(cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (authorize is not null && IsOwnOrigin(current))
            {
                authorize(request.Headers);
            }

            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    current = location.IsAbsoluteUri ? location : new Uri(current, location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new UpstreamHttpException(response.StatusCode, RetryAfter(response.Headers, _time.GetUtcNow()));
                }

                if (response.Content.Headers.ContentLength > maxBytes)
                {
                    throw new UpstreamTransportException(UpstreamFailureKind.TooLarge, $"the result is {response.Content.Headers.ContentLength} bytes, over the {maxBytes}-byte limit");
                }

                await using var body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, linked.Token).ConfigureAwait(false)) > 0)
                {
                    total += read;
                    if (total > maxBytes)
                    {
                        throw new UpstreamTransportException(UpstreamFailureKind.TooLarge, $"the result is over the {maxBytes}-byte limit");
                    }

                    await destination.WriteAsync(buffer.AsMemory(0, read), linked.Token).ConfigureAwait(false);
                }

                return;
            }
            catch (Exception ex) when (ex is not UpstreamHttpException && Translate(ex, cancellationToken, timeout.Token) is { } translated)
            {
                throw translated;
            }
        }

        throw new UpstreamTransportException(UpstreamFailureKind.BadReply, "the result URL redirected more than 5 times");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _limiter?.Dispose();
    }

    private async ValueTask<RateLimitLease> AcquireAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        if (_limiter is null)
        {
            return NoLease.Instance;
        }

        var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new UpstreamTransportException(UpstreamFailureKind.Throttled, "too many requests are waiting for this provider's rate limit");
        }

        return lease;
    }

    /// <summary>The in-process limiter of <paramref name="perSecond"/> requests per second: no calendar second sees more (from 11/s up; below that, at most one more).</summary>
    public static TokenBucketRateLimiter CreateLocalLimiter(double perSecond)
    {
        // Any one-second window sees the bucket's capacity plus the refills inside it. At 11/s and above: capacity r and
        // r per 100 ms with 11r <= the limit, so no second ever exceeds it (sustained: 10r, at least ~83 % of the limit).
        // Below that: one token every 1/limit seconds (a second can then see one more than the limit, at most).
        var (period, tokens) = perSecond >= 11
            ? (TimeSpan.FromMilliseconds(100), (int)Math.Floor(perSecond / 11))
            : (TimeSpan.FromSeconds(1 / perSecond), 1);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(HttpContent content, int max, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw new UpstreamTransportException(UpstreamFailureKind.BadReply, $"the reply is over {max} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>Retry-After as delta seconds or an HTTP date.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.RetryAfter is not { } value)
        {
            return null;
        }

        if (value.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (value.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static UpstreamTransportException? Translate(Exception ex, CancellationToken caller, CancellationToken timeout)
    {
        if (ex is UpstreamTransportException)
        {
            return null;
        }

        if (ex is OperationCanceledException && timeout.IsCancellationRequested && !caller.IsCancellationRequested)
        {
            return new UpstreamTransportException(UpstreamFailureKind.Timeout, "the provider did not answer in time", ex);
        }

        if (ex is OperationCanceledException)
        {
            return null;
        }

        if (ex is HttpRequestException http)
        {
            var connect = http.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                || http.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable or SocketError.HostUnreachable };
            return connect
                ? new UpstreamTransportException(UpstreamFailureKind.Unreachable, "the provider could not be reached", ex)
                : new UpstreamTransportException(UpstreamFailureKind.Reset, "the connection to the provider failed mid-request", ex);
        }

        return ex is IOException ? new UpstreamTransportException(UpstreamFailureKind.Reset, "the connection to the provider failed mid-request", ex) : null;
    }

    private sealed class NoLease : RateLimitLease
    {
        public static readonly NoLease Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}

/// <summary>A bounded upstream reply.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="RetryAfter">The Retry-After header, when sent.</param>
/// <param name="Body">The body bytes (at most <see cref="UpstreamHttpClient.MaxReplyBytes"/>).</param>
/// <param name="MediaType">The content type's media type.</param>
public sealed record UpstreamReply(HttpStatusCode Status, TimeSpan? RetryAfter, ReadOnlyMemory<byte> Body, string? MediaType)
{
    /// <summary>2xx.</summary>
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The body as JSON, or null when it is not valid JSON.</summary>
    public JsonDocument? TryJson()
    {
        if (Body.IsEmpty)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>How an upstream call failed below HTTP.</summary>
public enum UpstreamFailureKind
{
    /// <summary>Could not connect: nothing was sent.</summary>
    Unreachable,
    /// <summary>No answer within the timeout: the upstream may or may not have acted.</summary>
    Timeout,
    /// <summary>The connection broke mid-request.</summary>
    Reset,
    /// <summary>The reply could not be understood (malformed, too large, bad redirect).</summary>
    BadReply,
    /// <summary>The result is larger than allowed.</summary>
    TooLarge,
    /// <summary>Reelay's own rate limit for the instance is saturated.</summary>
    Throttled,
}

/// <summary>An upstream call failed below HTTP. The message never contains a URL query or a credential.</summary>
public sealed class UpstreamTransportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UpstreamTransportException(UpstreamFailureKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    /// <summary>Creates the exception.</summary>
    public UpstreamTransportException() : this(UpstreamFailureKind.BadReply, "upstream failure")
    {
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamTransportException(string message) : this(UpstreamFailureKind.BadReply, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamTransportException(string message, Exception inner) : this(UpstreamFailureKind.BadReply, message, inner)
    {
    }

    /// <summary>What failed.</summary>
    public UpstreamFailureKind Kind { get; }
}

/// <summary>A download answered with a non-success HTTP status.</summary>
public sealed class UpstreamHttpException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UpstreamHttpException(HttpStatusCode status, TimeSpan? retryAfter)
        : base($"the provider answered HTTP {(int)status}")
    {
        Status = status;
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamHttpException() : this(HttpStatusCode.InternalServerError, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamHttpException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public UpstreamHttpException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>Retry-After, when sent.</summary>
    public TimeSpan? RetryAfter { get; }
}
