using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Diagnostics;

namespace Reelay.Results.S3;

/// <summary>
/// A result store in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...), through AWSSDK.S3.
/// </summary>
/// <remarks>
/// <para>Uploads stream: an object up to <see cref="S3StorageOptions.PartSizeBytes"/> is one PutObject; a larger one is a
/// multipart upload that buffers one part at a time. Either way the object appears under its key only when complete (S3
/// publishes a PutObject or a completed multipart upload atomically), and a failed multipart upload is aborted. The
/// SHA-256 is computed while reading. Requests carry no aws-chunked encoding or trailing checksums (request checksums
/// "when required"), which S3-compatible services differ on.</para>
/// <para>Reads: <see cref="OpenAsync"/> is one HEAD; the stream it opens is seekable and fetches with ranged GETs (a window of
/// <see cref="ReadWindowBytes"/> at a time, pinned to the object's ETag), so the content endpoints serve HTTP Range
/// requests and validators (Last-Modified, ETag) without downloading the whole object.</para>
/// <para>Nothing is created implicitly: the bucket must exist unless <see cref="S3StorageOptions.CreateBucket"/> is set.
/// Credentials are never logged.</para>
/// </remarks>
public sealed partial class S3ResultStore : IResultStore, IDisposable
{
    /// <summary>How many bytes one ranged GET of a read stream asks for.</summary>
    public const int ReadWindowBytes = 8 * 1024 * 1024;

    private readonly IAmazonS3 _client;
    private readonly S3StorageOptions _options;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _bucketGate = new(1, 1);
    private volatile bool _bucketReady;

    /// <summary>Creates the store and its S3 client from options (validated: see <see cref="S3StorageOptions.Validate"/>).</summary>
    public S3ResultStore(S3StorageOptions options, ILogger<S3ResultStore>? logger = null)
        : this(CreateClient(options), options, logger)
    {
    }

    /// <summary>Creates the store over an existing client (which the store then owns and disposes).</summary>
    public S3ResultStore(IAmazonS3 client, S3StorageOptions options, ILogger<S3ResultStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _client = client;
        _options = options;
        _bucket = options.Bucket!;
        _prefix = string.IsNullOrEmpty(options.KeyPrefix) ? string.Empty : options.KeyPrefix.TrimEnd('/') + "/";
        _log = (ILogger?)logger ?? NullLogger.Instance;
        _bucketReady = !options.CreateBucket;
    }

    /// <summary>The bucket.</summary>
    public string Bucket => _bucket;

    /// <summary>The object key in the bucket for a store key (the key prefix, if any, then the key).</summary>
    public string ObjectKey(string key)
    {
        if (!LocalResultStore.IsValidKey(key))
        {
            throw new ArgumentException($"'{key}' is not a valid storage key: use lower-case letters, digits, '_', '.', '-' and '/' separators, with no empty, '.' or '..' segment.", nameof(key));
        }

        return _prefix + key;
    }

    /// <summary>Builds the S3 client the options describe.</summary>
    public static IAmazonS3 CreateClient(S3StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.UsesPathStyle,
            // S3-compatible services differ on flexible checksums and aws-chunked uploads; send plain signed bodies.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrEmpty(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        return string.IsNullOrEmpty(options.AccessKeyId)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
    }

    /// <inheritdoc />
    public async Task<StoredObject> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var objectKey = ObjectKey(key);
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var partSize = _options.PartSizeBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            var read = await FillAsync(content, buffer, partSize, cancellationToken).ConfigureAwait(false);
            hash.AppendData(buffer, 0, read);
            if (read < partSize)
            {
                using var body = new MemoryStream(buffer, 0, read, writable: false);
                await _client.PutObjectAsync(
                    new PutObjectRequest { BucketName = _bucket, Key = objectKey, InputStream = body, ContentType = contentType, UseChunkEncoding = false, AutoCloseStream = false },
                    cancellationToken).ConfigureAwait(false);
                var sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                S3Log.Stored(_log, objectKey, read, 1);
                return new StoredObject(key, read, sha);
            }

            return await PutMultipartAsync(key, objectKey, content, contentType, buffer, read, hash, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public async Task<StoredObject> PutFileAsync(string key, string localPath, string contentType, bool move, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        StoredObject stored;
        var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 128 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            stored = await PutAsync(key, source, contentType, cancellationToken).ConfigureAwait(false);
        }

        if (move)
        {
            File.Delete(localPath);
        }

        return stored;
    }

    /// <inheritdoc />
    public async Task<StoredContent?> OpenAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = ObjectKey(key);
        GetObjectMetadataResponse head;
        try
        {
            head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = objectKey }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var length = head.ContentLength;
        var etag = head.ETag;
        var contentType = string.IsNullOrEmpty(head.Headers.ContentType) || head.Headers.ContentType == "application/octet-stream"
            ? LocalResultStore.ContentTypeFor(key)
            : head.Headers.ContentType;
        return new StoredContent
        {
            OpenRead = () => new S3ReadStream(_client, _bucket, objectKey, length, etag),
            Length = length,
            ContentType = contentType,
            LastModified = head.LastModified is { } modified ? new DateTimeOffset(DateTime.SpecifyKind(modified.ToUniversalTime(), DateTimeKind.Utc)) : null,
            ETag = string.IsNullOrEmpty(etag) ? null : etag,
            Presign = (lifetime, type, fileName) => PresignGet(objectKey, lifetime, type, fileName),
        };
    }

    // Signing is local (no request); the URL carries the response headers to send, so the download keeps its type and name.
    private Uri PresignGet(string objectKey, TimeSpan lifetime, string contentType, string fileName) => new(_client.GetPreSignedURL(new GetPreSignedUrlRequest
    {
        BucketName = _bucket,
        Key = objectKey,
        Verb = HttpVerb.GET,
        // The SDK stamps the signature with its own clock and signs Expires minus that clock, so Expires must come from the same clock.
        Expires = DateTime.UtcNow + lifetime,
        // Without this the SDK writes https:// even for an http endpoint (MinIO, s3rver on loopback).
        Protocol = _options.ServiceUrl is { } service && service.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Protocol.HTTP : Protocol.HTTPS,
        ResponseHeaderOverrides = { ContentType = contentType, ContentDisposition = $"attachment; filename=\"{fileName}\"" },
    }));

    /// <inheritdoc />
    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = ObjectKey(key);
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = objectKey }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            // Some S3-compatible services answer 404 for a missing key; that is what we wanted.
        }
    }

    /// <summary>
    /// Checks that the bucket answers with one list request for at most one key under the prefix (this needs the
    /// s3:ListBucket permission), after creating it when <see cref="S3StorageOptions.CreateBucket"/> says so and no write
    /// has yet. Failures are rethrown with the status and error code only.
    /// </summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
            await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix, MaxKeys = 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex)
        {
            throw new IOException($"the bucket '{_bucket}' answered {(int)ex.StatusCode} {ex.ErrorCode}", ex);
        }
    }

    /// <summary>Disposes the S3 client.</summary>
    public void Dispose()
    {
        _client.Dispose();
        _bucketGate.Dispose();
    }

    private async Task<StoredObject> PutMultipartAsync(string key, string objectKey, Stream content, string contentType, byte[] buffer, int firstPart, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var partSize = _options.PartSizeBytes;
        var upload = await _client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = _bucket, Key = objectKey, ContentType = contentType },
            cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            long total = 0;
            var read = firstPart;
            while (read > 0)
            {
                using (var body = new MemoryStream(buffer, 0, read, writable: false))
                {
                    var part = await _client.UploadPartAsync(
                        new UploadPartRequest
                        {
                            BucketName = _bucket,
                            Key = objectKey,
                            UploadId = upload.UploadId,
                            PartNumber = parts.Count + 1,
                            InputStream = body,
                            PartSize = read,
                            UseChunkEncoding = false,
                        },
                        cancellationToken).ConfigureAwait(false);
                    parts.Add(new PartETag(parts.Count + 1, part.ETag));
                }

                total += read;
                read = await FillAsync(content, buffer, partSize, cancellationToken).ConfigureAwait(false);
                hash.AppendData(buffer, 0, read);
            }

            await _client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = upload.UploadId, PartETags = parts },
                cancellationToken).ConfigureAwait(false);
            S3Log.Stored(_log, objectKey, total, parts.Count);
            return new StoredObject(key, total, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch (Exception ex)
        {
            S3Log.UploadAborted(_log, ex, objectKey);
            try
            {
                await _client.AbortMultipartUploadAsync(
                    new AbortMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = upload.UploadId },
                    CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception abortError) when (abortError is AmazonServiceException or HttpRequestException or IOException)
            {
                // The bucket's lifecycle rules (or a later abort) clean up; the key never saw a partial object.
                S3Log.AbortFailed(_log, abortError, objectKey);
            }

            throw;
        }
    }

    private async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady)
        {
            return;
        }

        await _bucketGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_bucketReady)
            {
                return;
            }

            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken).ConfigureAwait(false);
                S3Log.BucketCreated(_log, _bucket);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }

            _bucketReady = true;
        }
        finally
        {
            _bucketGate.Release();
        }
    }

    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < count)
        {
            var read = await source.ReadAsync(buffer.AsMemory(filled, count - filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private static partial class S3Log
    {
        [LoggerMessage(LogEventIds.Results + 0, LogLevel.Debug, "Stored s3 object {ObjectKey} ({Bytes} bytes, {Parts} part(s))")]
        public static partial void Stored(ILogger logger, string objectKey, long bytes, int parts);

        [LoggerMessage(LogEventIds.Results + 1, LogLevel.Warning, "Upload of s3 object {ObjectKey} failed; aborting the multipart upload")]
        public static partial void UploadAborted(ILogger logger, Exception exception, string objectKey);

        [LoggerMessage(LogEventIds.Results + 2, LogLevel.Warning, "Could not abort the multipart upload of s3 object {ObjectKey}")]
        public static partial void AbortFailed(ILogger logger, Exception exception, string objectKey);

        [LoggerMessage(LogEventIds.Results + 3, LogLevel.Information, "Created s3 bucket {Bucket} (Reelay:Storage:S3:CreateBucket)")]
        public static partial void BucketCreated(ILogger logger, string bucket);
    }
}
