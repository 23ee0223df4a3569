using System.Text.RegularExpressions;

namespace Reelay.Results.S3;

/// <summary>
/// An S3-compatible result store, bound from <c>Reelay:Storage:S3</c>. Works with AWS S3 (set <see cref="Region"/>) and
/// with S3-compatible services such as MinIO or Cloudflare R2 (set <see cref="ServiceUrl"/>; path-style addressing is then
/// the default). Credentials are never logged or shown in validation messages.
/// </summary>
public sealed partial class S3StorageOptions
{
    /// <summary>The smallest part S3 accepts in a multipart upload (except the last).</summary>
    public const int MinPartSizeBytes = 5 * 1024 * 1024;

    /// <summary>The endpoint of an S3-compatible service, e.g. http://127.0.0.1:9000 (MinIO) or https://&lt;account&gt;.r2.cloudflarestorage.com. Leave unset for AWS S3.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The bucket. Required.</summary>
    public string? Bucket { get; set; }

    /// <summary>The region used for signing (AWS region; "auto" for R2). Default "us-east-1".</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The access key id; leave both keys unset to use the SDK's default credential chain (environment, profile, instance role).</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>The secret access key (a secret: never logged).</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>Path-style URLs (http://host/bucket/key) instead of virtual-host style. Default: true when <see cref="ServiceUrl"/> is set, else false.</summary>
    public bool? ForcePathStyle { get; set; }

    /// <summary>A prefix for every object key, e.g. "reelay" stores "reelay/videos/&lt;id&gt;.mp4". Default none.</summary>
    public string? KeyPrefix { get; set; }

    /// <summary>Create the bucket on first use if it does not exist (for development). Default false: nothing is created implicitly.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>Objects larger than this are uploaded in parts of this size (each part is buffered in memory once). Default 8 MiB, minimum 5 MiB.</summary>
    public int PartSizeBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Whether path-style addressing is in effect.</summary>
    public bool UsesPathStyle => ForcePathStyle ?? !string.IsNullOrEmpty(ServiceUrl);

    /// <summary>Start-up validation messages, each naming its key (never a secret's value); empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket))
        {
            yield return "Reelay:Storage:S3:Bucket is required when Reelay:Storage:Kind is s3.";
        }
        else if (!BucketPattern().IsMatch(Bucket))
        {
            yield return $"Reelay:Storage:S3:Bucket '{Bucket}' is not a valid bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.";
        }

        if (ServiceUrl is not null
            && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.UserInfo)))
        {
            yield return "Reelay:Storage:S3:ServiceUrl must be an absolute http(s) URL without credentials, e.g. http://127.0.0.1:9000.";
        }

        if (string.IsNullOrWhiteSpace(ServiceUrl) && string.IsNullOrWhiteSpace(Region))
        {
            yield return "Reelay:Storage:S3:ServiceUrl is required (or Reelay:Storage:S3:Region, for AWS S3).";
        }

        if (string.IsNullOrEmpty(AccessKeyId) != string.IsNullOrEmpty(SecretAccessKey))
        {
            yield return "Reelay:Storage:S3:AccessKeyId and Reelay:Storage:S3:SecretAccessKey must be set together (or both left out to use the default credential chain).";
        }

        if (KeyPrefix is not null && !LocalResultStore.IsValidKey(KeyPrefix.TrimEnd('/')))
        {
            yield return $"Reelay:Storage:S3:KeyPrefix '{KeyPrefix}' is not allowed: use lower-case letters, digits, '_', '.', '-' and '/' separators.";
        }

        if (PartSizeBytes < MinPartSizeBytes)
        {
            yield return $"Reelay:Storage:S3:PartSizeBytes must be at least {MinPartSizeBytes} (5 MiB, S3's smallest part; got {PartSizeBytes}).";
        }
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\z", RegexOptions.CultureInvariant)]
    private static partial Regex BucketPattern();
}
