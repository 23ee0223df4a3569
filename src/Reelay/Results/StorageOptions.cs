namespace Reelay.Results;

/// <summary>
/// Result storage, bound from <c>Reelay:Storage</c>: where finished videos, thumbnails, spritesheets and stored input
/// images live, and how long a finished video's content is kept. Every default is documented in docs/configuration.md.
/// </summary>
public sealed class StorageOptions
{
    /// <summary>The local-disk store (the default).</summary>
    public const string LocalKind = "local";

    /// <summary>An S3-compatible object store (AWS S3, MinIO, Cloudflare R2, ...).</summary>
    public const string S3Kind = "s3";

    /// <summary>"local" (default: files under the data directory) or "s3" (configured under <see cref="S3"/>).</summary>
    public string Kind { get; set; } = LocalKind;

    /// <summary>The local store's root folder; default "files" inside the data directory. Relative paths are relative to the working directory.</summary>
    public string? LocalPath { get; set; }

    /// <summary>
    /// How long a succeeded job's content is kept after it finished; then it answers 410 and the sweeper deletes it.
    /// <see cref="TimeSpan.Zero"/> keeps content forever. Default 7 days.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the sweeper looks for expired content. Default 5 minutes.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Jobs whose content one sweeper batch deletes; a sweep runs at most 10 batches. Default 100.</summary>
    public int SweepBatchSize { get; set; } = 100;

    /// <summary>Whether finalization makes a spritesheet (a WebP grid of ten frames sampled inside the video). Default true.</summary>
    public bool Spritesheet { get; set; } = true;

    /// <summary>
    /// Whether finalization makes a thumbnail (one WebP still, an ffmpeg process per result). Default true. Off, a job's
    /// thumbnail variant answers 404 (not_found) and the dashboard shows no poster; the video itself is unaffected.
    /// </summary>
    public bool Thumbnails { get; set; } = true;

    /// <summary>The S3-compatible store, used when <see cref="Kind"/> is "s3".</summary>
    public S3.S3StorageOptions S3 { get; set; } = new();

    /// <summary>Whether content is kept forever.</summary>
    public bool KeepsForever => Retention == TimeSpan.Zero;

    /// <summary>Start-up validation messages, each naming its key; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Kind is not (LocalKind or S3Kind))
        {
            yield return $"Reelay:Storage:Kind '{Kind}' is not supported; allowed: {LocalKind}, {S3Kind}.";
        }

        if (Retention < TimeSpan.Zero || (Retention > TimeSpan.Zero && Retention < TimeSpan.FromSeconds(1)))
        {
            yield return $"Reelay:Storage:Retention must be 00:00:00 (keep forever) or at least 1 second (got {Retention}).";
        }

        if (SweepInterval < TimeSpan.FromSeconds(1) || SweepInterval > TimeSpan.FromDays(1))
        {
            yield return $"Reelay:Storage:SweepInterval must be 1 second to 1 day (got {SweepInterval}).";
        }

        if (SweepBatchSize is < 1 or > 1000)
        {
            yield return $"Reelay:Storage:SweepBatchSize must be 1 to 1000 (got {SweepBatchSize}).";
        }

        if (LocalPath is not null && string.IsNullOrWhiteSpace(LocalPath))
        {
            yield return "Reelay:Storage:LocalPath must not be blank; leave it out for the default (data directory/files).";
        }

        if (Kind == S3Kind)
        {
            foreach (var error in S3.Validate())
            {
                yield return error;
            }
        }
    }
}
