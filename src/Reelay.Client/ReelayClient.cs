using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Reelay.Client.Internal;
using Reelay.Client.Serialization;

namespace Reelay.Client;

/// <summary>
/// A typed client for Reelay's video API (<c>/v1/videos</c> and <c>/v1/models</c>). Thread-safe: one instance
/// may serve any number of concurrent calls. Every method is virtual so tests can substitute it.
/// </summary>
/// <remarks>
/// API errors surface as <see cref="ReelayApiException"/>; network failures as <see cref="HttpRequestException"/>;
/// a call that exceeds <see cref="ReelayClientOptions.Timeout"/> as <see cref="TimeoutException"/>; cancellation
/// through the caller's token as <see cref="OperationCanceledException"/>.
/// </remarks>
public partial class ReelayClient
{
    /// <summary>The poll interval <see cref="WaitForCompletionAsync"/> uses when none is given.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    private const int MaxConsecutiveTransientPollFailures = 5;
    private const int MaxErrorBodyBytes = 64 * 1024;
    private const int CopyBufferSize = 81920;

    private static readonly Lazy<HttpClient> SharedHttpClient = new(() => new HttpClient(
        new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    });

    private static readonly ProductInfoHeaderValue UserAgent = new(
        "Reelay.Client",
        typeof(ReelayClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    private readonly HttpClient _http = null!;
    private readonly Uri _baseAddress = ReelayClientOptions.DefaultBaseAddress;
    private readonly string? _apiKey;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time = TimeProvider.System;

    /// <summary>
    /// Creates a client over <paramref name="httpClient"/>, which it does not modify or dispose (so one HttpClient
    /// may be shared, as with IHttpClientFactory). The options are copied; later changes to them have no effect.
    /// </summary>
    /// <param name="httpClient">The HTTP client to send requests with.</param>
    /// <param name="options">The base address, API key and timeout.</param>
    /// <exception cref="ArgumentException">The base address is not an absolute http(s) URI, or the timeout is not positive.</exception>
    public ReelayClient(HttpClient httpClient, ReelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var baseAddress = options.BaseAddress ?? throw new ArgumentException("BaseAddress is required.", nameof(options));
        if (!baseAddress.IsAbsoluteUri || (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"BaseAddress must be an absolute http or https URI; got '{baseAddress}'.", nameof(options));
        }

        if (options.Timeout <= TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException("Timeout must be positive or Timeout.InfiniteTimeSpan.", nameof(options));
        }

        _http = httpClient;
        _baseAddress = WithTrailingSlash(baseAddress);
        _apiKey = string.IsNullOrEmpty(options.ApiKey) ? null : options.ApiKey;
        _timeout = options.Timeout;
        _time = options.TimeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Creates a client for <paramref name="baseAddress"/> with <paramref name="apiKey"/>, over a process-wide
    /// HttpClient that recycles its connections (so DNS changes are seen). Nothing needs disposing.
    /// </summary>
    /// <param name="baseAddress">The gateway's base address, for example <c>http://127.0.0.1:8080/</c>.</param>
    /// <param name="apiKey">The API key.</param>
    public ReelayClient(Uri baseAddress, string apiKey)
        : this(SharedHttpClient.Value, new ReelayClientOptions { BaseAddress = baseAddress, ApiKey = apiKey })
    {
    }

    /// <summary>For mocking frameworks only: an instance whose methods must all be overridden.</summary>
    protected ReelayClient()
    {
    }

    /// <summary>The gateway's base address, always ending in a slash.</summary>
    public Uri BaseAddress => _baseAddress;

    /// <summary>
    /// Submits a video job (<c>POST /v1/videos</c>). Sent as JSON, or as multipart/form-data when the request
    /// uploads an image (<see cref="CreateVideoRequest.ImageFile"/> or <see cref="CreateVideoRequest.ImageStream"/>).
    /// </summary>
    /// <param name="request">What to generate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new video, usually queued.</returns>
    /// <exception cref="ArgumentException">The request gives more than one first frame.</exception>
    /// <exception cref="ReelayApiException">The server rejected the request.</exception>
    public virtual async Task<Video> CreateVideoAsync(CreateVideoRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var images = (request.ImageUrl is not null ? 1 : 0) + (request.ImageFile is not null ? 1 : 0) + (request.ImageStream is not null ? 1 : 0);
        if (images > 1)
        {
            throw new ArgumentException("Give at most one of ImageUrl, ImageFile and ImageStream.", nameof(request));
        }

        var seconds = request.Seconds?.ToString(CultureInfo.InvariantCulture);
        if (!request.HasImageUpload)
        {
            var body = new CreateVideoBody
            {
                Model = request.Model,
                Prompt = request.Prompt,
                Seconds = seconds,
                Size = request.Size,
                Seed = request.Seed,
                InputReference = request.ImageUrl is null ? null : new InputReference { ImageUrl = request.ImageUrl },
                Characters = request.Characters is { Count: > 0 } characters ? [.. characters] : null,
            };
            var json = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, ReelayJsonContext.Default.CreateVideoBody));
            json.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return await SendJsonAsync(HttpMethod.Post, "v1/videos", json, ReelayJsonContext.Default.Video, cancellationToken, request.IdempotencyKey, request.Wait).ConfigureAwait(false);
        }

        FileStream? file = null;
        try
        {
            Stream image;
            string fileName;
            if (request.ImageFile is not null)
            {
                file = new FileStream(request.ImageFile, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous | FileOptions.SequentialScan);
                image = file;
                fileName = request.ImageFileName ?? Path.GetFileName(request.ImageFile);
            }
            else
            {
                image = request.ImageStream!;
                if (!image.CanRead)
                {
                    throw new ArgumentException("ImageStream must be readable.", nameof(request));
                }

                fileName = request.ImageFileName ?? "image";
            }

            var form = new MultipartFormDataContent();
            AddField(form, "model", request.Model);
            AddField(form, "prompt", request.Prompt);
            AddField(form, "seconds", seconds);
            AddField(form, "size", request.Size);
            AddField(form, "seed", request.Seed?.ToString(CultureInfo.InvariantCulture));
            foreach (var character in request.Characters ?? [])
            {
                AddField(form, "characters", character);
            }

            var part = new UploadStreamContent(image);
            part.Headers.ContentType = new MediaTypeHeaderValue(request.ImageContentType ?? GuessImageContentType(fileName));
            form.Add(part, "input_reference", fileName);
            return await SendJsonAsync(HttpMethod.Post, "v1/videos", form, ReelayJsonContext.Default.Video, cancellationToken, request.IdempotencyKey, request.Wait).ConfigureAwait(false);
        }
        finally
        {
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads a video (<c>GET /v1/videos/{id}</c>).</summary>
    /// <param name="id">The video id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The video.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found.</exception>
    public virtual Task<Video> GetVideoAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Get, VideoPath(id), null, ReelayJsonContext.Default.Video, cancellationToken);
    }

    /// <summary>Reads one page of the caller's videos (<c>GET /v1/videos</c>).</summary>
    /// <param name="options">Cursor, page size and order; null for the server's defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page; follow <see cref="VideoList.LastId"/> while <see cref="VideoList.HasMore"/>.</returns>
    public virtual Task<VideoList> ListVideosAsync(ListVideosOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = new StringBuilder("v1/videos");
        var separator = '?';
        void Add(string name, string value)
        {
            query.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        if (!string.IsNullOrEmpty(options?.After))
        {
            Add("after", options.After);
        }

        if (options?.Limit is { } limit)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit, nameof(options));
            Add("limit", limit.ToString(CultureInfo.InvariantCulture));
        }

        if (options?.Order is { } order)
        {
            Add("order", order == ListOrder.Ascending ? "asc" : "desc");
        }

        return SendJsonAsync(HttpMethod.Get, query.ToString(), null, ReelayJsonContext.Default.VideoList, cancellationToken);
    }

    /// <summary>
    /// Enumerates every video from <paramref name="options"/>'s cursor on, fetching pages lazily and following
    /// <see cref="VideoList.LastId"/> while <see cref="VideoList.HasMore"/> is true.
    /// </summary>
    /// <param name="options">The starting cursor, page size and order; null for the server's defaults.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The videos, page after page.</returns>
    /// <exception cref="ReelayApiException">A page failed, or the server's cursor did not advance.</exception>
    public virtual async IAsyncEnumerable<Video> ListAllVideosAsync(
        ListVideosOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = options?.After;
        while (true)
        {
            var page = await ListVideosAsync(new ListVideosOptions { After = after, Limit = options?.Limit, Order = options?.Order }, cancellationToken).ConfigureAwait(false);
            foreach (var video in page.Data)
            {
                yield return video;
            }

            if (!page.HasMore)
            {
                yield break;
            }

            var next = page.LastId ?? (page.Data.Count > 0 ? page.Data[^1].Id : null);
            if (string.IsNullOrEmpty(next) || string.Equals(next, after, StringComparison.Ordinal))
            {
                throw new ReelayApiException(200, "The server said more videos follow (has_more) but gave no new cursor (last_id); stopping to avoid a loop.", "invalid_response");
            }

            after = next;
        }
    }

    /// <summary>Deletes a video and its content (<c>DELETE /v1/videos/{id}</c>).</summary>
    /// <param name="id">The video id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The deletion confirmation.</returns>
    public virtual Task<VideoDeletion> DeleteVideoAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Delete, VideoPath(id), null, ReelayJsonContext.Default.VideoDeletion, cancellationToken);
    }

    /// <summary>Cancels a job that has not finished (<c>POST /v1/videos/{id}/cancel</c>, a Reelay extension).</summary>
    /// <param name="id">The video id.</param>
    /// <param name="cancellationToken">Cancels the call (not the job).</param>
    /// <returns>The video, now cancelled.</returns>
    public virtual Task<Video> CancelVideoAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Post, VideoPath(id) + "/cancel", null, ReelayJsonContext.Default.Video, cancellationToken);
    }

    /// <summary>
    /// Streams a completed video's content (<c>GET /v1/videos/{id}/content</c>) into <paramref name="destination"/>
    /// without buffering it whole. The timeout covers the wait for the response headers; the body then streams
    /// under <paramref name="cancellationToken"/>.
    /// </summary>
    /// <param name="id">The video id.</param>
    /// <param name="destination">A writable stream; written from its current position and not disposed.</param>
    /// <param name="variant">The video, its thumbnail or its spritesheet.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The number of bytes written.</returns>
    public virtual async Task<long> DownloadContentAsync(string id, Stream destination, VideoVariant variant = VideoVariant.Video, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The destination stream must be writable.", nameof(destination));
        }

        var path = VideoPath(id) + "/content?variant=" + variant switch
        {
            VideoVariant.Thumbnail => "thumbnail",
            VideoVariant.Spritesheet => "spritesheet",
            _ => "video",
        };
        using var response = await SendAsync(HttpMethod.Get, path, null, "*/*", cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                long total = 0;
                int read;
                while ((read = await body.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    total += read;
                }

                return total;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// Downloads a video's content to <paramref name="path"/>, creating its folder. Writes a <c>.part</c> file
    /// first and moves it into place only when the download succeeded, so a failure leaves no partial file.
    /// </summary>
    /// <param name="id">The video id.</param>
    /// <param name="path">The file to write (replaced if it exists).</param>
    /// <param name="variant">The video, its thumbnail or its spritesheet.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The number of bytes written.</returns>
    public virtual async Task<long> DownloadContentToFileAsync(string id, string path, VideoVariant variant = VideoVariant.Video, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var partial = fullPath + ".part";
        try
        {
            long total;
            var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                total = await DownloadContentAsync(id, file, variant, cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, fullPath, overwrite: true);
            return total;
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    /// <summary>Lists the models the gateway offers (<c>GET /v1/models</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The models.</returns>
    public virtual async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        var list = await SendJsonAsync(HttpMethod.Get, "v1/models", null, ReelayJsonContext.Default.ModelList, cancellationToken).ConfigureAwait(false);
        return list.Data;
    }

    /// <summary>
    /// Polls a video until it reaches a terminal status (completed, failed or cancelled) and returns it. Does not
    /// throw when the job failed: inspect <see cref="Video.Status"/> and <see cref="Video.Error"/>. Transient API
    /// errors (429, 502-504) and timeouts are retried a few times in a row, honouring Retry-After.
    /// </summary>
    /// <param name="id">The video id.</param>
    /// <param name="progress">Receives every polled state, including the final one; called on the polling thread.</param>
    /// <param name="pollInterval">Time between polls; default <see cref="DefaultPollInterval"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the job itself continues).</param>
    /// <returns>The video in its terminal state.</returns>
    public virtual async Task<Video> WaitForCompletionAsync(string id, IProgress<Video>? progress = null, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero, nameof(pollInterval));
        var failures = 0;
        while (true)
        {
            Video video;
            try
            {
                video = await GetVideoAsync(id, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (ReelayApiException ex) when (ex.IsTransient && ++failures < MaxConsecutiveTransientPollFailures)
            {
                await DelayAsync(ex.RetryAfter > interval ? ex.RetryAfter.Value : interval, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (TimeoutException) when (++failures < MaxConsecutiveTransientPollFailures)
            {
                await DelayAsync(interval, cancellationToken).ConfigureAwait(false);
                continue;
            }

            progress?.Report(video);
            if (video.IsTerminal)
            {
                return video;
            }

            await DelayAsync(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Follows a video's live events (<c>GET /v1/videos/{id}/events</c>, Server-Sent Events) until its terminal event:
    /// first its current state, then one event per status or progress change. A connection that drops (or sends nothing,
    /// not even a heartbeat, for <see cref="ReelayClientOptions.Timeout"/>) before the terminal event is reopened once
    /// with <c>Last-Event-ID</c>, so no event is repeated; the allowance is renewed by every event received.
    /// </summary>
    /// <param name="id">The video id.</param>
    /// <param name="cancellationToken">Stops following (the job itself continues).</param>
    /// <returns>The events, the terminal one (<see cref="VideoEvent.IsTerminal"/>) last.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found (also from a server too old to have event streams),
    /// or 429 when the gateway has too many streams open; code <c>stream_ended</c> when the stream ended twice in a row
    /// without its terminal event.</exception>
    public virtual async IAsyncEnumerable<VideoEvent> StreamEventsAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var path = VideoPath(id) + "/events";
        string? lastEventId = null;
        var reconnects = 1;
        while (true)
        {
            Exception? dropped = null;
            using (var response = await SendAsync(HttpMethod.Get, path, null, "text/event-stream", cancellationToken, lastEventId).ConfigureAwait(false))
            {
                var body = new IdleTimeoutStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _timeout, _time);
                await using (body.ConfigureAwait(false))
                {
                    var items = SseParser.Create(body, static (type, data) => data.ToArray()).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                    try
                    {
                        while (true)
                        {
                            try
                            {
                                if (!await items.MoveNextAsync().ConfigureAwait(false))
                                {
                                    break;
                                }
                            }
                            catch (Exception ex) when (ex is IOException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
                            {
                                dropped = ex;
                                break;
                            }

                            var item = items.Current;
                            Video video;
                            try
                            {
                                video = JsonSerializer.Deserialize(item.Data, ReelayJsonContext.Default.Video)
                                    ?? throw new JsonException("The data is null.");
                            }
                            catch (JsonException ex)
                            {
                                throw new ReelayApiException((int)response.StatusCode, $"An event of GET /{path} is not a video object: {ex.Message}", "invalid_response", innerException: ex);
                            }

                            lastEventId = item.EventId ?? lastEventId;
                            reconnects = 1;
                            var videoEvent = new VideoEvent(item.EventType, item.EventId, video);
                            yield return videoEvent;
                            if (videoEvent.IsTerminal)
                            {
                                yield break;
                            }
                        }
                    }
                    finally
                    {
                        await items.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }

            if (reconnects-- == 0)
            {
                throw new ReelayApiException(200, $"The event stream of video {id} ended twice without its final event.", "invalid_response", "stream_ended", innerException: dropped);
            }
        }
    }

    /// <summary>
    /// Waits for a video to reach a terminal status by following its live events (<see cref="StreamEventsAsync"/>), and
    /// returns it. Falls back to polling (<see cref="WaitForCompletionAsync"/>) when the server has no event stream for it
    /// (a 404 from an older server; a video that does not exist still ends in 404) or the stream cannot be kept. Does
    /// not throw when the job failed: inspect <see cref="Video.Status"/> and <see cref="Video.Error"/>.
    /// </summary>
    /// <param name="id">The video id.</param>
    /// <param name="progress">Receives every state, including the final one; called on the reading thread.</param>
    /// <param name="pollInterval">Time between polls if it falls back to polling; default <see cref="DefaultPollInterval"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the job itself continues).</param>
    /// <returns>The video in its terminal state.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found, also when the video is deleted while waiting.</exception>
    public virtual async Task<Video> WaitForCompletionStreamingAsync(string id, IProgress<Video>? progress = null, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        VideoEvent? last = null;
        try
        {
            await foreach (var item in StreamEventsAsync(id, cancellationToken).ConfigureAwait(false))
            {
                last = item;
                if (item.IsTerminal)
                {
                    break;
                }

                progress?.Report(item.Video);
            }
        }
        catch (ReelayApiException ex) when (ex.StatusCode == 404 || ex.IsTransient || ex.Code == "stream_ended")
        {
            // No event stream here (an older server; polling then tells a missing video apart), too many streams open on
            // the gateway, or a stream that keeps dropping: poll instead.
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
        }

        if (last is { Type: VideoEvent.Deleted })
        {
            throw new ReelayApiException(404, $"Video {id} was deleted while waiting for it.", "invalid_request_error", "not_found", "id");
        }

        if (last is { IsTerminal: true })
        {
            progress?.Report(last.Video);
            return last.Video;
        }

        return await WaitForCompletionAsync(id, progress, pollInterval, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendJsonAsync<T>(HttpMethod method, string relativePath, HttpContent? content, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken, string? idempotencyKey = null, TimeSpan? wait = null)
    {
        // A synchronous wait (Prefer: wait=N) is held by the server up to N seconds: the call's timeout covers it.
        using var call = new CallTimeout(wait is { } w && _timeout != System.Threading.Timeout.InfiniteTimeSpan ? _timeout + w : _timeout, _time, cancellationToken);
        try
        {
            using var response = await SendCoreAsync(method, relativePath, content, "application/json", call.Token, idempotencyKey: idempotencyKey, wait: wait).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(call.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                T? value;
                try
                {
                    value = await JsonSerializer.DeserializeAsync(stream, typeInfo, call.Token).ConfigureAwait(false);
                }
                catch (JsonException ex)
                {
                    throw new ReelayApiException((int)response.StatusCode, $"The server's answer to {method} /{StripQuery(relativePath)} is not the expected JSON: {ex.Message}", "invalid_response", innerException: ex);
                }

                return value ?? throw new ReelayApiException((int)response.StatusCode, $"The server's answer to {method} /{StripQuery(relativePath)} was empty.", "invalid_response");
            }
        }
        catch (OperationCanceledException ex) when (call.TimedOut && !cancellationToken.IsCancellationRequested)
        {
            throw Timeout(method, relativePath, ex);
        }
    }

    /// <summary>Sends a request and returns the successful response with its body unread; the timeout covers the headers only.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string relativePath, HttpContent? content, string accept, CancellationToken cancellationToken, string? lastEventId = null)
    {
        using var call = new CallTimeout(_timeout, _time, cancellationToken);
        try
        {
            return await SendCoreAsync(method, relativePath, content, accept, call.Token, lastEventId).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (call.TimedOut && !cancellationToken.IsCancellationRequested)
        {
            throw Timeout(method, relativePath, ex);
        }
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string relativePath, HttpContent? content, string accept, CancellationToken cancellationToken, string? lastEventId = null, string? idempotencyKey = null, TimeSpan? wait = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(_baseAddress, relativePath)) { Content = content };
        request.Headers.Accept.ParseAdd(accept);
        if (wait is { } w)
        {
            request.Headers.TryAddWithoutValidation("Prefer", "wait=" + ((long)Math.Ceiling(w.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        }

        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        request.Headers.UserAgent.Add(UserAgent);
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            }

            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<ReelayApiException> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = "";
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[MaxErrorBodyBytes];
                var length = 0;
                int read;
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                body = Encoding.UTF8.GetString(buffer, 0, length);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The status code alone still makes a useful error.
        }

        return ErrorEnvelope.ToException((int)response.StatusCode, response.ReasonPhrase, body, RetryAfter(response), _apiKey);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - _time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private TimeoutException Timeout(HttpMethod method, string relativePath, Exception inner) =>
        new($"{method} {new Uri(_baseAddress, StripQuery(relativePath)).GetLeftPart(UriPartial.Path)} did not answer within {_timeout.TotalSeconds:0.#} s.", inner);

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay > TimeSpan.Zero)
        {
            return Task.Delay(delay, _time, cancellationToken);
        }

        return cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;
    }

    private static string VideoPath(string id) => "v1/videos/" + Uri.EscapeDataString(id);

    private static string StripQuery(string path)
    {
        var q = path.IndexOf('?', StringComparison.Ordinal);
        return q < 0 ? path : path[..q];
    }

    private static void AddField(MultipartFormDataContent form, string name, string? value)
    {
        if (value is not null)
        {
            form.Add(new StringContent(value, Encoding.UTF8), name);
        }
    }

    private static string GuessImageContentType(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        _ => "application/octet-stream",
    };

    private static Uri WithTrailingSlash(Uri uri)
    {
        var builder = new UriBuilder(uri) { Query = "", Fragment = "" };
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
