using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Reelay.Engine;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>
/// Serves stored content with range requests: small local files from memory (<see cref="SmallFileCache"/>, opt-in) or
/// read in one piece and written in one write, larger ones from disk when the store is local, else streamed from the store's
/// seekable stream (for S3, ranged GETs), with Last-Modified and the store's ETag as validators (If-None-Match,
/// If-Modified-Since, If-Range). HEAD answers the same headers without the body.
/// </summary>
internal static class ContentResults
{
    /// <summary>The methods every content route answers.</summary>
    public static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// Local files up to this size are read in one read into a pooled buffer and sent in one write. Larger ones go through
    /// ASP.NET Core's file result, which copies them in 64 KiB pieces: per piece a thread-pool read and a flush, which for a
    /// 224 KiB thumbnail or short clip cost more than the bytes (see docs/benchmarks.md section 6).
    /// </summary>
    internal const int OneWriteMaxBytes = 1024 * 1024;

    /// <summary>
    /// The download name of a job's content: the id, then .mp4 for the video, and for the stills the extension of their
    /// stored type (.webp; .jpg for jobs finished before thumbnails became WebP), the spritesheet as .spritesheet.*.
    /// </summary>
    public static string FileName(string id, ContentVariant variant, string contentType)
    {
        if (variant == ContentVariant.Video)
        {
            return $"{id}.mp4";
        }

        var extension = contentType switch
        {
            "image/jpeg" => ".jpg",
            "image/png" => ".png",
            _ => ".webp",
        };
        return variant == ContentVariant.Spritesheet ? $"{id}.spritesheet{extension}" : $"{id}{extension}";
    }

    public static IResult Serve(StoredContent content, string id, ContentVariant variant) => new ContentResult(content, FileName(id, variant, content.ContentType));

    internal static IResult Direct(StoredContent content, string fileName) =>
        content.PhysicalPath is { } path
            ? TypedResults.PhysicalFile(path, content.ContentType, fileName, content.LastModified, EntityTag(content.ETag), enableRangeProcessing: true)
            : TypedResults.Stream(content.OpenRead(), content.ContentType, fileName, content.LastModified, EntityTag(content.ETag), enableRangeProcessing: true);

    private static EntityTagHeaderValue? EntityTag(string? etag) =>
        etag is not null && EntityTagHeaderValue.TryParse(etag, out var parsed) ? parsed : null;

    /// <summary>Decides when it runs, from <see cref="ContentOffload"/>, whether Reelay sends the bytes or hands them off.</summary>
    private sealed class ContentResult(StoredContent content, string fileName) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var services = httpContext.RequestServices;
            if (services.GetService<ContentOffload>()?.TryHandOff(httpContext, content, fileName) is { } handedOff)
            {
                await handedOff.ExecuteAsync(httpContext).ConfigureAwait(false);
                return;
            }

            if (services.GetService<SmallFileCache>() is { } cache && await cache.GetAsync(content, httpContext.RequestAborted).ConfigureAwait(false) is { } bytes)
            {
                await TypedResults.Bytes(bytes, content.ContentType, fileName, enableRangeProcessing: true, content.LastModified, EntityTag(content.ETag)).ExecuteAsync(httpContext).ConfigureAwait(false);
                return;
            }

            if (content.PhysicalPath is { } path && content.Length is > 0 and <= OneWriteMaxBytes && !HttpMethods.IsHead(httpContext.Request.Method)
                && await ServeInOneWriteAsync(httpContext, path).ConfigureAwait(false))
            {
                return;
            }

            await Direct(content, fileName).ExecuteAsync(httpContext).ConfigureAwait(false);
        }

        // The store's one stat gave the length, time and ETag; this opens, reads and closes the file once, and hands the
        // bytes to the framework's byte result (ranges, If-None-Match, If-Modified-Since, If-Range as for the file result).
        // False, with nothing written, when the file is no longer what the store described (the file result then answers).
        private async Task<bool> ServeInOneWriteAsync(HttpContext httpContext, string path)
        {
            var length = (int)content.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                int read;
                try
                {
                    using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
                    read = await ReadAllAsync(file, buffer.AsMemory(0, length), httpContext.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return false;
                }

                if (read != length)
                {
                    return false;
                }

                await TypedResults.Bytes(buffer.AsMemory(0, length), content.ContentType, fileName, enableRangeProcessing: true, content.LastModified, EntityTag(content.ETag))
                    .ExecuteAsync(httpContext).ConfigureAwait(false);
                return true;
            }
            finally
            {
                // The response body copies what it is given before its write completes, so the buffer is free again here.
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        // Reads until the buffer is full or the file ends; one read for a file that is as long as the store said, and one
        // more that finds the end only when the file grew.
        private static async ValueTask<int> ReadAllAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var read = await RandomAccess.ReadAsync(file, buffer[total..], total, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            // A file longer than the store said has changed since: not served from this read.
            return total == buffer.Length && RandomAccess.GetLength(file) != buffer.Length ? -1 : total;
        }
    }
}

/// <summary>
/// Reelay:Content:Offload: after a content request passed auth (API key or signed URL), answer with X-Accel-Redirect for an
/// nginx in front (it then sends the local file itself), or with a 302 to a short-lived presigned S3 URL, instead of
/// sending the bytes through .NET.
/// </summary>
public sealed class ContentOffload
{
    private readonly string _mode;
    private readonly string _prefix;
    private readonly TimeSpan _lifetime;
    private readonly string? _root;

    /// <summary>Creates the offload from the settings; <paramref name="store"/> gives the local root for x-accel-redirect.</summary>
    public ContentOffload(ContentOptions options, IResultStore store)
    {
        ArgumentNullException.ThrowIfNull(options);
        _mode = options.Offload;
        _prefix = options.AccelRedirectPrefix;
        _lifetime = options.RedirectLifetime;
        _root = (store as LocalResultStore)?.RootPath;
    }

    /// <summary>The offloaded answer, or null when Reelay serves the bytes itself.</summary>
    internal IResult? TryHandOff(HttpContext context, StoredContent content, string fileName)
    {
        switch (_mode)
        {
            case ContentOptions.OffloadAccelRedirect when content.PhysicalPath is { } path && _root is not null:
                var relative = Path.GetRelativePath(_root, path);
                if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
                {
                    return null;
                }

                var headers = context.Response.Headers;
                headers["X-Accel-Redirect"] = _prefix + string.Join('/', relative.Split(Path.DirectorySeparatorChar).Select(Uri.EscapeDataString));
                headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = fileName }.ToString();
                context.Response.ContentType = content.ContentType;
                return TypedResults.Empty;
            case ContentOptions.OffloadRedirect when content.Presign is { } presign:
                context.Response.Headers.CacheControl = "no-store";
                return TypedResults.Redirect(presign(_lifetime, content.ContentType, fileName).AbsoluteUri);
            default:
                return null;
        }
    }
}
