using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Reelay.Server.Events;

/// <summary>
/// Writes a text/event-stream response. Hand-written rather than TypedResults.ServerSentEvents because heartbeats are
/// SSE comments (": keep-alive"), which every client ignores and SseItem cannot express, and because the data is
/// already UTF-8 JSON from a source-generated context (one line: the serializer escapes control characters).
/// </summary>
internal sealed class SseWriter(HttpResponse response)
{
    private static readonly byte[] Heartbeat = ": keep-alive\n\n"u8.ToArray();

    /// <summary>Sends the headers: no caching, no proxy buffering, and no response buffering here either.</summary>
    public async Task StartAsync(TimeSpan retry, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
        var line = Encoding.UTF8.GetBytes($"retry: {(long)retry.TotalMilliseconds}\n\n");
        await response.Body.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One event: its name, its id and one line of data.</summary>
    public async Task WriteEventAsync(string name, long id, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var head = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"event: {name}\nid: {id}\ndata: "));
        var body = response.Body;
        await body.WriteAsync(head, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync("\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A comment that keeps idle proxies from closing the connection.</summary>
    public async Task WriteHeartbeatAsync(CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Heartbeat, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
