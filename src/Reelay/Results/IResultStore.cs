namespace Reelay.Results;

/// <summary>
/// Where Reelay keeps what it serves: finished videos, thumbnails and stored input images. Keys are
/// relative paths made of [a-z0-9_./-] (e.g. "videos/video_ab12.mp4"). The local-disk store is the default.
/// </summary>
public interface IResultStore
{
    /// <summary>Stores a stream under <paramref name="key"/>, replacing any object there. Writes are atomic: readers never see half an object.</summary>
    Task<StoredObject> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken);

    /// <summary>Stores a local file (moved when <paramref name="move"/> and the store is on the same disk, else copied).</summary>
    Task<StoredObject> PutFileAsync(string key, string localPath, string contentType, bool move, CancellationToken cancellationToken);

    /// <summary>Opens an object for reading; null when it does not exist.</summary>
    Task<StoredContent?> OpenAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes an object; no error when it does not exist.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Checks, cheaply, that the store answers (the readiness check calls it, bounded and cached). Throws when it does not;
    /// the exception's message must be safe to show an administrator (no credentials). The default opens a key that does
    /// not exist.
    /// </summary>
    Task CheckAsync(CancellationToken cancellationToken) => OpenAsync("health/probe", cancellationToken);
}

/// <summary>What was stored.</summary>
/// <param name="Key">The key.</param>
/// <param name="Length">Size in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the bytes.</param>
public sealed record StoredObject(string Key, long Length, string Sha256);

/// <summary>An object opened for reading: a local file path (served zero-copy) or a stream.</summary>
public sealed class StoredContent : IAsyncDisposable
{
    /// <summary>Full path of the file, when the store is on local disk.</summary>
    public string? PhysicalPath { get; init; }

    /// <summary>Opens the bytes as a seekable stream (the caller disposes it), so HTTP Range requests can be served from it.</summary>
    public required Func<Stream> OpenRead { get; init; }

    /// <summary>Size in bytes.</summary>
    public required long Length { get; init; }

    /// <summary>Content type.</summary>
    public required string ContentType { get; init; }

    /// <summary>Last modification time, for HTTP validators.</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>An entity tag for HTTP validators, quoted (e.g. an S3 ETag); null when the store has none.</summary>
    public string? ETag { get; init; }

    /// <summary>
    /// For a store that can hand out direct links (S3): a presigned GET URL of the object that works for the given time and
    /// answers with the given content type and download file name. Null when the store cannot.
    /// </summary>
    public Func<TimeSpan, string, string, Uri>? Presign { get; init; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
