using Amazon.S3;
using Amazon.S3.Model;
using Reelay.Results.S3;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Results;

/// <summary>What is particular to the S3 store, against s3rver (the shared content behaviour is in <see cref="ResultStoreContractTests"/>).</summary>
public sealed class S3ResultStoreTests(S3rverServer server) : IClassFixture<S3rverServer>
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task PutAsync_KeyPrefix_StoresUnderPrefixedObjectKey()
    {
        var options = server.NewBucketOptions(keyPrefix: "tenant-a/reelay/");
        using var store = new S3ResultStore(options);

        await store.PutAsync("videos/v.mp4", new MemoryStream([1, 2, 3]), "video/mp4", Ct);

        using var client = S3ResultStore.CreateClient(options);
        var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = options.Bucket }, Ct);
        Assert.Equal(["tenant-a/reelay/videos/v.mp4"], listed.S3Objects.Select(o => o.Key));
    }

    [Fact]
    public async Task PutAsync_BucketMissingAndCreateBucketOff_FailsAndCreatesNothing()
    {
        var options = server.NewBucketOptions();
        options.CreateBucket = false;
        using var store = new S3ResultStore(options);

        var error = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.PutAsync("videos/v.mp4", new MemoryStream([1]), "video/mp4", Ct));

        Assert.Equal("NoSuchBucket", error.ErrorCode);
        Assert.False(Directory.Exists(Path.Combine(server.Directory, options.Bucket!)));
    }

    [Fact]
    public async Task OpenAsync_StoredObject_HasETagForValidators()
    {
        using var store = new S3ResultStore(server.NewBucketOptions());
        await store.PutAsync("thumbnails/t.jpg", new MemoryStream([9, 8, 7]), "image/jpeg", Ct);

        var content = await store.OpenAsync("thumbnails/t.jpg", Ct);

        Assert.NotNull(content);
        Assert.Null(content.PhysicalPath);
        Assert.Matches("^\"[^\"]+\"$", content.ETag);
        Assert.Equal("image/jpeg", content.ContentType);
    }

    [Theory]
    [InlineData(null, "http://127.0.0.1:9000", "Reelay:Storage:S3:Bucket is required")]
    [InlineData("Bad_Bucket", "http://127.0.0.1:9000", "Reelay:Storage:S3:Bucket 'Bad_Bucket' is not a valid bucket name")]
    [InlineData("ok-bucket", "ftp://host", "Reelay:Storage:S3:ServiceUrl must be an absolute http(s) URL")]
    [InlineData("ok-bucket", "http://user:pw@host", "Reelay:Storage:S3:ServiceUrl must be an absolute http(s) URL without credentials")]
    public void Validate_BadOptions_NamesTheKey(string? bucket, string url, string expected)
    {
        var options = new S3StorageOptions { Bucket = bucket, ServiceUrl = url };

        Assert.Contains(options.Validate(), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_SecretWithoutKeyId_NamesBothKeysButNotTheValue()
    {
        var options = new S3StorageOptions { Bucket = "ok-bucket", ServiceUrl = "http://127.0.0.1:9000", SecretAccessKey = "s3cr3t-value" };

        var error = Assert.Single(options.Validate());

        Assert.Contains("Reelay:Storage:S3:AccessKeyId", error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-value", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UsesPathStyle_ServiceUrlSet_DefaultsToTrueUnlessTurnedOff()
    {
        Assert.True(new S3StorageOptions { ServiceUrl = "http://127.0.0.1:9000" }.UsesPathStyle);
        Assert.False(new S3StorageOptions { ServiceUrl = "http://127.0.0.1:9000", ForcePathStyle = false }.UsesPathStyle);
        Assert.False(new S3StorageOptions().UsesPathStyle);
    }
}
