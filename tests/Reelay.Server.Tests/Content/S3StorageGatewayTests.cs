using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Engine;
using Reelay.Results.S3;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;
using Reelay.Tests.TestSupport;

namespace Reelay.Server.Tests.Content;

/// <summary>The gateway end to end with its results in an S3 bucket (s3rver): sandbox jobs rendered, stored, served, expired.</summary>
public sealed class S3StorageGatewayTests(S3rverServer s3) : IClassFixture<S3rverServer>
{
    private static Dictionary<string, string?> Settings(S3StorageOptions bucket, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Reelay:Storage:Kind"] = "s3",
            ["Reelay:Storage:S3:ServiceUrl"] = bucket.ServiceUrl,
            ["Reelay:Storage:S3:Bucket"] = bucket.Bucket,
            ["Reelay:Storage:S3:AccessKeyId"] = bucket.AccessKeyId,
            ["Reelay:Storage:S3:SecretAccessKey"] = bucket.SecretAccessKey,
            ["Reelay:Storage:S3:CreateBucket"] = "true",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<JsonElement> CompletedVideoAsync(ReelayTestServer server, string body)
    {
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            var video = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            var status = video.GetProperty("status").GetString();
            if (status == "completed")
            {
                return video;
            }

            Assert.NotEqual("failed", status);
            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not complete");
    }

    private static async Task<List<string>> ObjectKeysAsync(S3StorageOptions bucket)
    {
        using var client = S3ResultStore.CreateClient(bucket);
        var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket.Bucket });
        return (listed.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Readyz_S3BucketAnswers_200WithStorageHealthy()
    {
        var bucket = s3.NewBucketOptions();
        await using var server = await ReelayTestServer.StartAsync(Settings(bucket));

        using var response = await server.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var storage = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "storage");
        Assert.Equal("Healthy", storage.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Readyz_S3BucketMissing_503WithStorageUnhealthyAndNoCredentials()
    {
        var bucket = s3.NewBucketOptions();
        await using var server = await ReelayTestServer.StartAsync(Settings(bucket, new() { ["Reelay:Storage:S3:CreateBucket"] = "false" }));

        using var response = await server.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var storage = JsonDocument.Parse(text).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "storage");
        Assert.Equal("Unhealthy", storage.GetProperty("status").GetString());
        Assert.Equal($"the result storage failed: the bucket '{bucket.Bucket}' answered 404 NoSuchBucket", storage.GetProperty("description").GetString());
        Assert.DoesNotContain(bucket.SecretAccessKey!, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SandboxJob_S3Storage_ServesContentFromBucketWithRangesValidatorsChecksumAndSpritesheet()
    {
        var bucket = s3.NewBucketOptions();
        await using var server = await ReelayTestServer.StartAsync(Settings(bucket));

        var video = await CompletedVideoAsync(server, """{"model":"sandbox","prompt":"stored in a bucket","seconds":"2","size":"320x240"}""");
        var id = video.GetProperty("id").GetString()!;

        // Everything is in the bucket, nothing under the local data folder.
        Assert.Equal([$"spritesheets/{id}.webp", $"thumbnails/{id}.webp", $"videos/{id}.mp4"], await ObjectKeysAsync(bucket));
        Assert.False(Directory.Exists(Path.Combine(server.DataDirectory, "files", "videos")));

        // The whole video: its SHA-256 is the one on the video object, and ffprobe reads it.
        using var full = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal("video/mp4", full.Content.Headers.ContentType?.MediaType);
        var bytes = await full.Content.ReadAsByteArrayAsync();
        Assert.Equal(video.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var path = Path.Combine(Path.GetTempPath(), $"reelay-s3-{id}.mp4");
        try
        {
            await File.WriteAllBytesAsync(path, bytes);
            var probe = await TestFiles.FfprobeAsync(path, "stream=width,height:format=duration");
            Assert.Contains("width=320", probe, StringComparison.Ordinal);
            Assert.Contains("height=240", probe, StringComparison.Ordinal);
            var duration = double.Parse(probe.Split('\n').Single(l => l.StartsWith("duration=", StringComparison.Ordinal))["duration=".Length..], CultureInfo.InvariantCulture);
            Assert.InRange(duration, 1.9, 2.1);
        }
        finally
        {
            File.Delete(path);
        }

        // A Range request is answered from a ranged GET: 206 with exactly those bytes.
        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        rangeRequest.Headers.Range = new RangeHeaderValue(100, 1099);
        using var partial = await server.Http.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal($"bytes 100-1099/{bytes.Length}", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal(bytes.AsSpan(100, 1000).ToArray(), await partial.Content.ReadAsByteArrayAsync());

        // The bucket's ETag is the validator.
        var etag = full.Headers.ETag;
        Assert.NotNull(etag);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await server.Http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        // The spritesheet: a real WebP of 5 x 2 frames of 256 x 192.
        using var sprite = await server.Http.GetAsync($"/v1/videos/{id}/content?variant=spritesheet");
        Assert.Equal(HttpStatusCode.OK, sprite.StatusCode);
        Assert.Equal("image/webp", sprite.Content.Headers.ContentType?.MediaType);
        var spritePath = Path.Combine(Path.GetTempPath(), $"reelay-s3-{id}.webp");
        try
        {
            await File.WriteAllBytesAsync(spritePath, await sprite.Content.ReadAsByteArrayAsync());
            Assert.Equal("codec_name=webp\nwidth=1280\nheight=384\n", await TestFiles.FfprobeAsync(spritePath, "stream=codec_name,width,height"));
        }
        finally
        {
            File.Delete(spritePath);
        }

        // The signed, keyless URL serves the spritesheet too.
        var signer = server.App.Services.GetRequiredService<ContentUrlSigner>();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal("webp", Reelay.Media.ImageInfo.Sniff(await anonymous.GetByteArrayAsync(signer.SignedPath(id, ContentVariant.Spritesheet)))?.Format);

        // Retention: the default 7 days from completion.
        Assert.InRange(video.GetProperty("expires_at").GetInt64() - video.GetProperty("completed_at").GetInt64(), (7 * 86400) - 1, (7 * 86400) + 1);
    }

    [Fact]
    public async Task ExpiredContent_ShortRetention_Answers410InEnvelopeAndSweeperEmptiesBucket()
    {
        var bucket = s3.NewBucketOptions();
        await using var server = await ReelayTestServer.StartAsync(Settings(bucket, new()
        {
            ["Reelay:Storage:Retention"] = "00:00:01",
            ["Reelay:Storage:SweepInterval"] = "00:00:01",
        }));

        var video = await CompletedVideoAsync(server, """{"model":"sandbox","prompt":"short-lived","seconds":"1","size":"160x120"}""");
        var id = video.GetProperty("id").GetString()!;
        var signer = server.App.Services.GetRequiredService<ContentUrlSigner>();
        var signed = signer.SignedPath(id, ContentVariant.Video);
        for (var i = 0; i < 100 && DateTimeOffset.UtcNow.ToUnixTimeSeconds() <= video.GetProperty("expires_at").GetInt64(); i++)
        {
            await Task.Delay(100);
        }

        using var gone = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        var error = JsonDocument.Parse(await gone.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("gone", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains($"The content of video '{id}' expired at", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using var signedGone = await anonymous.GetAsync(signed);
        Assert.Equal(HttpStatusCode.Gone, signedGone.StatusCode);

        for (var i = 0; i < 100 && (await ObjectKeysAsync(bucket)).Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(await ObjectKeysAsync(bucket));
        var after = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
        Assert.Equal("completed", after.GetProperty("status").GetString());
        Assert.False(after.TryGetProperty("sha256", out _));
    }

    [Theory]
    [InlineData("Reelay:Storage:S3:Bucket", null, "Reelay:Storage:S3:Bucket is required when Reelay:Storage:Kind is s3.")]
    [InlineData("Reelay:Storage:S3:Bukket", "x", "Reelay:Storage:S3:Bukket is not a known setting")]
    [InlineData("Reelay:Storage:Kind", "gcs", "Reelay:Storage:Kind 'gcs' is not supported; allowed: local, s3.")]
    [InlineData("Reelay:Storage:Retention", "-1.00:00:00", "Reelay:Storage:Retention must be 00:00:00 (keep forever) or at least 1 second")]
    public async Task StartAsync_BadStorageSetting_FailsNamingTheKey(string key, string? value, string expected)
    {
        var settings = Settings(s3.NewBucketOptions());
        settings[key] = value;

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ReelayTestServer.StartAsync(settings));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(S3rverServer.AccessKey, ex.Message, StringComparison.Ordinal);
    }
}
