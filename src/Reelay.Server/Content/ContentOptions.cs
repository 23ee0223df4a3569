using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>Reelay:Content: how content requests (GET /v1/videos/{id}/content and the other content routes) are answered.</summary>
public sealed class ContentOptions
{
    /// <summary>Reelay serves the bytes itself (range requests, zero-copy from local disk).</summary>
    public const string OffloadNone = "none";

    /// <summary>An nginx in front serves local files: Reelay answers X-Accel-Redirect after auth.</summary>
    public const string OffloadAccelRedirect = "x-accel-redirect";

    /// <summary>S3 results: Reelay answers 302 to a short-lived presigned URL after auth.</summary>
    public const string OffloadRedirect = "redirect";

    /// <summary><c>none</c> (default), <c>x-accel-redirect</c> (needs local storage) or <c>redirect</c> (needs S3 storage).</summary>
    public string Offload { get; set; } = OffloadNone;

    /// <summary>
    /// With x-accel-redirect: the prefix of the X-Accel-Redirect value, followed by the file's path relative to
    /// Reelay:Storage:LocalPath; nginx maps it to that folder in an <c>internal</c> location. Default <c>/_reelay_files/</c>.
    /// </summary>
    public string AccelRedirectPrefix { get; set; } = "/_reelay_files/";

    /// <summary>With redirect: how long a presigned URL works (default 5 minutes; 10 seconds to 7 days).</summary>
    public TimeSpan RedirectLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Bytes of small local results (thumbnails, spritesheets, short clips) kept in memory, so that serving one is a single
    /// write instead of an open, a stat and reads of the file (default 0: off, until a benchmark on a quiet machine shows it
    /// helps; 67108864 is 64 MiB). Entries are keyed by path,
    /// size, time and ETag, so a rewritten file is read again; an entry unused for 10 minutes leaves.
    /// </summary>
    public long MemoryCacheBytes { get; set; }

    /// <summary>The largest file the memory cache takes (default 1 MiB, at most <see cref="MemoryCacheBytes"/>).</summary>
    public long MemoryCacheMaxFileBytes { get; set; } = 1024 * 1024;

    /// <summary>Every problem with the settings, each naming its key; <paramref name="storageKind"/> is Reelay:Storage:Kind.</summary>
    public IEnumerable<string> Validate(string storageKind)
    {
        switch (Offload)
        {
            case OffloadNone:
                break;
            case OffloadAccelRedirect when storageKind != StorageOptions.LocalKind:
                yield return $"Reelay:Content:Offload 'x-accel-redirect' needs Reelay:Storage:Kind 'local' (got '{storageKind}'); for S3 use 'redirect'.";
                break;
            case OffloadRedirect when storageKind != StorageOptions.S3Kind:
                yield return $"Reelay:Content:Offload 'redirect' needs Reelay:Storage:Kind 's3' (got '{storageKind}'); for local files behind nginx use 'x-accel-redirect'.";
                break;
            case OffloadAccelRedirect or OffloadRedirect:
                break;
            default:
                yield return $"Reelay:Content:Offload '{Offload}' is not supported; allowed: none, x-accel-redirect, redirect.";
                break;
        }

        if (string.IsNullOrEmpty(AccelRedirectPrefix) || !AccelRedirectPrefix.StartsWith('/') || !AccelRedirectPrefix.EndsWith('/')
            || AccelRedirectPrefix.Any(c => c <= ' ' || c >= 0x7f || c is '?' or '#' or '%'))
        {
            yield return $"Reelay:Content:AccelRedirectPrefix must be a URI path that starts and ends with '/' (got '{AccelRedirectPrefix}').";
        }

        if (MemoryCacheBytes is < 0 or > 64L * 1024 * 1024 * 1024)
        {
            yield return $"Reelay:Content:MemoryCacheBytes must be 0 (off) to 68719476736 (64 GiB) (got {MemoryCacheBytes}).";
        }

        if (MemoryCacheMaxFileBytes is < 1 or > 256L * 1024 * 1024)
        {
            yield return $"Reelay:Content:MemoryCacheMaxFileBytes must be 1 to 268435456 (256 MiB) (got {MemoryCacheMaxFileBytes}).";
        }

        if (RedirectLifetime < TimeSpan.FromSeconds(10) || RedirectLifetime > TimeSpan.FromDays(7))
        {
            yield return $"Reelay:Content:RedirectLifetime must be 10 seconds to 7 days (got {RedirectLifetime}).";
        }
    }
}
