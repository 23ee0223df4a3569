using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Reelay.Results;

/// <summary>
/// The default result store: files under one root directory. Keys map to relative paths and are checked so
/// that none escapes the root. Every write goes to a temporary file under the root's <c>.tmp</c> folder (which no
/// key can name), is flushed to disk and then renamed over the key, so readers never see half an object.
/// The content type is derived from the key's extension. Each object's SHA-256 is recorded beside it (under the root's
/// <c>.sha256</c> folder, which no key can name either) with the size and modification time it belongs to, and served
/// as its strong ETag; an object without a matching record (stored by an older version) gets a weak size-and-time ETag.
/// </summary>
public sealed partial class LocalResultStore : IResultStore
{
    private const int BufferSize = 128 * 1024;
    private const int MaxKeyLength = 512;
    private const string HashFolder = ".sha256";
    private const int MaxCachedHashes = 10_000;
    private readonly string _tempDirectory;

    // The served ETag needs each object's recorded checksum. Reading the record's file on every content request was a
    // measurable share of a small file's cost, so records are kept in memory once read or written (bounded by clearing).
    // A kept record is only used while the object's size and modification time still match it, as the file's is.
    private readonly ConcurrentDictionary<string, HashRecord> _hashes = new(StringComparer.Ordinal);

    /// <summary>Creates the store, creating <paramref name="rootPath"/> if needed.</summary>
    /// <param name="rootPath">The root directory; relative paths are relative to the working directory.</param>
    public LocalResultStore(string rootPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        RootPath = Path.GetFullPath(rootPath);
        _tempDirectory = Path.Combine(RootPath, ".tmp");
        Directory.CreateDirectory(_tempDirectory);
    }

    /// <summary>The root directory, as a full path.</summary>
    public string RootPath { get; }

    /// <inheritdoc />
    public async Task<StoredObject> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var target = PathFor(key);
        var temp = NewTempPath();
        return await CommitHashedAsync(key, target, temp, () => new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous), content, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<StoredObject> PutFileAsync(string key, string localPath, string contentType, bool move, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var target = PathFor(key);
        if (!move)
        {
            var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (source.ConfigureAwait(false))
            {
                return await PutAsync(key, source, contentType, cancellationToken).ConfigureAwait(false);
            }
        }

        // Move into the temp folder first: a rename on the same disk, a copy across disks (where File.Move copies
        // and deletes). Either way the key only ever sees the final rename within the root.
        var temp = NewTempPath();
        return await CommitHashedAsync(
            key,
            target,
            temp,
            () =>
            {
                File.Move(localPath, temp);
                return new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            },
            null,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The one write tail of both puts: opens <paramref name="temp"/> (<paramref name="open"/>), hashes it (copying
    /// <paramref name="source"/> into it first when given), flushes it to disk, records the hash and renames it onto
    /// <paramref name="target"/>. On any failure the temp file is deleted and the key keeps what it had.
    /// </summary>
    private async Task<StoredObject> CommitHashedAsync(string key, string target, string temp, Func<FileStream> open, Stream? source, CancellationToken cancellationToken)
    {
        try
        {
            long length;
            string sha256;
            var file = open();
            await using (file.ConfigureAwait(false))
            {
                (length, sha256) = await CopyHashingAsync(source ?? file, source is null ? null : file, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            await RecordHashAsync(key, temp, length, sha256, cancellationToken).ConfigureAwait(false);
            Commit(temp, target);
            return new StoredObject(key, length, sha256);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<StoredContent?> OpenAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        cancellationToken.ThrowIfCancellationRequested();
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        var modified = info.LastWriteTimeUtc.Ticks;
        var sha256 = await ReadHashAsync(key, info.Length, modified, cancellationToken).ConfigureAwait(false);
        return new StoredContent
        {
            PhysicalPath = path,
            OpenRead = () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan),
            Length = info.Length,
            ContentType = ContentTypeFor(key),
            LastModified = new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero),
            // The checksum identifies the bytes (a strong validator); size and time only suggest them (a weak one).
            ETag = sha256 is not null
                ? $"\"{sha256}\""
                : $"W/\"{info.Length.ToString("x", CultureInfo.InvariantCulture)}-{modified.ToString("x", CultureInfo.InvariantCulture)}\"",
        };
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        cancellationToken.ThrowIfCancellationRequested();
        _hashes.TryRemove(key, out _);
        foreach (var file in (string[])[path, HashPathFor(key)])
        {
            try
            {
                File.Delete(file);
            }
            catch (DirectoryNotFoundException)
            {
                // Nothing there.
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Checks that the root can be written: creates, flushes and deletes a small file in its temporary folder.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var probe = NewTempPath();
        try
        {
            var file = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await file.WriteAsync("ok"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"the result folder cannot be written ({ex.Message})", ex);
        }
        finally
        {
            TryDelete(probe);
        }
    }

    /// <summary>The content type for a key, from its extension (application/octet-stream when unknown).</summary>
    public static string ContentTypeFor(string key) => Path.GetExtension(key).ToLowerInvariant() switch
    {
        ".mp4" => "video/mp4",
        ".webm" => "video/webm",
        ".mov" => "video/quicktime",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };

    /// <summary>Whether <paramref name="key"/> is a valid key: <c>[a-z0-9_][a-z0-9_./-]*</c>, no empty, "." or ".." segment.</summary>
    public static bool IsValidKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || !KeyPattern().IsMatch(key))
        {
            return false;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    private string PathFor(string key)
    {
        if (!IsValidKey(key))
        {
            throw new ArgumentException($"'{key}' is not a valid storage key: use lower-case letters, digits, '_', '.', '-' and '/' separators, with no empty, '.' or '..' segment.", nameof(key));
        }

        var path = Path.GetFullPath(Path.Combine(RootPath, key));
        // Belt and braces: the pattern already rules out escaping the root.
        if (!path.StartsWith(RootPath + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{key}' is not a valid storage key.", nameof(key));
        }

        return path;
    }

    private string HashPathFor(string key) => Path.Combine(RootPath, HashFolder, key + ".sha256");

    // "<sha256> <length> <mtime ticks>", written before the object's rename (which keeps the mtime), so a record only
    // ever matches the bytes it was computed from.
    private async Task RecordHashAsync(string key, string tempObject, long length, string sha256, CancellationToken cancellationToken)
    {
        var record = HashPathFor(key);
        var ticks = File.GetLastWriteTimeUtc(tempObject).Ticks;
        var temp = NewTempPath();
        try
        {
            await File.WriteAllTextAsync(temp, $"{sha256} {length.ToString(CultureInfo.InvariantCulture)} {ticks.ToString(CultureInfo.InvariantCulture)}", cancellationToken).ConfigureAwait(false);
            Commit(temp, record);
            Remember(key, new HashRecord(length, ticks, sha256));
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private readonly record struct HashRecord(long Length, long Ticks, string Sha256);

    private void Remember(string key, HashRecord record)
    {
        if (_hashes.Count >= MaxCachedHashes)
        {
            _hashes.Clear();
        }

        _hashes[key] = record;
    }

    private async Task<string?> ReadHashAsync(string key, long length, long ticks, CancellationToken cancellationToken)
    {
        if (_hashes.TryGetValue(key, out var known) && known.Length == length && known.Ticks == ticks)
        {
            return known.Sha256;
        }

        string text;
        try
        {
            text = await File.ReadAllTextAsync(HashPathFor(key), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        var parts = text.Split(' ');
        if (parts.Length == 3 && parts[0].Length == 64
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var recordedLength) && recordedLength == length
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var recordedTicks) && recordedTicks == ticks)
        {
            Remember(key, new HashRecord(length, ticks, parts[0]));
            return parts[0];
        }

        return null;
    }

    private string NewTempPath() => Path.Combine(_tempDirectory, Guid.NewGuid().ToString("N") + ".part");

    private static void Commit(string temp, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(temp, target, overwrite: true);
    }

    private static async Task<(long Length, string Sha256)> CopyHashingAsync(Stream source, Stream? destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];
        long length = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            if (destination is not null)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            length += read;
        }

        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
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

    [GeneratedRegex(@"^[a-z0-9_][a-z0-9_./-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}
