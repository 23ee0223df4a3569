using Microsoft.Extensions.Caching.Memory;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>
/// Small local results kept in memory (Reelay:Content:MemoryCacheBytes), so that a content request for a thumbnail, a
/// spritesheet or a short clip is one write of bytes already in memory rather than an open, a stat and thread-pool reads
/// of the file: per request, that file work cost more than the bytes themselves. The entries are the bytes of finished,
/// immutable results; a request reaches this cache only after auth and the job's checks (deleted or expired content
/// answers 410 before), and the key includes size, time and ETag, so a rewritten file is never answered from memory.
/// </summary>
internal sealed class SmallFileCache : IDisposable
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(10);
    private readonly MemoryCache? _cache;
    private readonly long _maxFile;

    public SmallFileCache(ContentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MemoryCacheBytes > 0)
        {
            _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.MemoryCacheBytes, CompactionPercentage = 0.25 });
            _maxFile = Math.Min(options.MemoryCacheMaxFileBytes, options.MemoryCacheBytes);
        }
    }

    /// <summary>The bytes of <paramref name="content"/> when it is a small local file (read once, then from memory); else null.</summary>
    public async ValueTask<byte[]?> GetAsync(StoredContent content, CancellationToken cancellationToken)
    {
        if (_cache is null || content.PhysicalPath is not { } path || content.Length > _maxFile)
        {
            return null;
        }

        var key = new Key(path, content.Length, content.LastModified, content.ETag);
        if (_cache.TryGetValue(key, out byte[]? bytes) && bytes is not null)
        {
            return bytes;
        }

        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return null; // Gone or changed underneath: the file path answers (and reports) it.
        }

        if (bytes.LongLength != content.Length)
        {
            return null;
        }

        _cache.Set(key, bytes, new MemoryCacheEntryOptions { Size = Math.Max(1, bytes.LongLength), SlidingExpiration = Idle });
        return bytes;
    }

    public void Dispose() => _cache?.Dispose();

    private readonly record struct Key(string Path, long Length, DateTimeOffset? LastModified, string? ETag);
}
