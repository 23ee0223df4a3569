using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Results;
using Reelay.Results.S3;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;
using Reelay.Tests.TestSupport;

namespace Reelay.Server.Tests.Content;

/// <summary>Issue 16 item 8: Reelay:Content:Offload hands the bytes to nginx (X-Accel-Redirect) or to S3 (a presigned 302) after auth.</summary>
public sealed class ContentOffloadTests(S3rverServer s3) : IClassFixture<S3rverServer>
{
    private const string Prefix = "/_reelay_files/";

    private static async Task<string> CompletedVideoAsync(ReelayTestServer server)
    {
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"offload","seconds":"1","size":"64x64"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            var status = (await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString();
            if (status == "completed")
            {
                return id;
            }

            Assert.NotEqual("failed", status);
            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not complete");
    }

    private static async Task<HttpClient> OtherClientKeyAsync(ReelayTestServer server)
    {
        using var created = await server.Http.PostAsJsonAsync("/admin/keys", new { name = "someone else" });
        created.EnsureSuccessStatusCode();
        var secret = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    [Fact]
    public async Task Content_AccelRedirect_EmptyAnswerNamingTheStoredFile()
    {
        var files = Path.Combine(Path.GetTempPath(), "reelay-accel-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Content:Offload"] = "x-accel-redirect", ["Reelay:Storage:LocalPath"] = files });
            var id = await CompletedVideoAsync(server);

            using var response = await server.Http.GetAsync($"/v1/videos/{id}/content");
            using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/videos/{id}/content"));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            var accel = Assert.Single(response.Headers.GetValues("X-Accel-Redirect"));
            Assert.StartsWith(Prefix, accel, StringComparison.Ordinal);
            var file = Path.Combine(files, accel[Prefix.Length..]);
            Assert.True(File.Exists(file), $"{accel} does not name a file under Reelay:Storage:LocalPath");
            Assert.Equal((await File.ReadAllBytesAsync(file))[4..8], "ftyp"u8.ToArray());
            Assert.Equal("video/mp4", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"{id}.mp4", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            Assert.Equal(accel, Assert.Single(head.Headers.GetValues("X-Accel-Redirect")));
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(files);
        }
    }

    [Fact]
    public async Task Content_AccelRedirectSignedUrl_HandsOffToo()
    {
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Content:Offload"] = "x-accel-redirect" });
        var id = await CompletedVideoAsync(server);
        var signed = server.App.Services.GetRequiredService<ContentUrlSigner>().SignedPath(id, ContentVariant.Thumbnail);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await anonymous.GetAsync(signed);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(Prefix, Assert.Single(response.Headers.GetValues("X-Accel-Redirect")), StringComparison.Ordinal);
        Assert.Equal("image/webp", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Content_AccelRedirectWithoutPermission_RefusedWithoutHeader()
    {
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Content:Offload"] = "x-accel-redirect" });
        var id = await CompletedVideoAsync(server);
        using var other = await OtherClientKeyAsync(server);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };

        using var foreign = await other.GetAsync($"/v1/videos/{id}/content");
        using var keyless = await anonymous.GetAsync($"/v1/videos/{id}/content");
        using var forged = await anonymous.GetAsync($"/content/{id}/video?expires=9999999999&signature=AAAA");

        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, keyless.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        foreach (var response in new[] { foreign, keyless, forged })
        {
            Assert.False(response.Headers.Contains("X-Accel-Redirect"));
        }
    }

    [Fact]
    public async Task Content_AccelRedirectThroughRealNginx_NginxServesTheFileAfterReelayAllowsIt()
    {
        var files = Path.Combine(Path.GetTempPath(), "reelay-nginx-files-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Content:Offload"] = "x-accel-redirect", ["Reelay:Storage:LocalPath"] = files });
            var id = await CompletedVideoAsync(server);
            var direct = await server.Http.GetAsync($"/v1/videos/{id}/content");
            var file = Path.Combine(files, Assert.Single(direct.Headers.GetValues("X-Accel-Redirect"))[Prefix.Length..]);
            var bytes = await File.ReadAllBytesAsync(file);
            // The snippet of docs/operations.md ("Serving content through nginx").
            await using var nginx = await NginxProcess.StartAsync($$"""
                location / {
                    proxy_pass {{server.BaseAddress.AbsoluteUri.TrimEnd('/')}};
                    proxy_set_header Host $host;
                    proxy_buffering off;
                }
                location {{Prefix}} {
                    internal;
                    alias {{files}}/;
                }
                """);
            using var front = new HttpClient { BaseAddress = nginx.BaseAddress };
            front.DefaultRequestHeaders.Authorization = server.Http.DefaultRequestHeaders.Authorization;
            using var anonymous = new HttpClient { BaseAddress = nginx.BaseAddress };

            using var whole = await front.GetAsync($"/v1/videos/{id}/content");
            using var range = await front.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content") { Headers = { Range = new RangeHeaderValue(4, 7) } });
            using var keyless = await anonymous.GetAsync($"/v1/videos/{id}/content");
            using var internalOnly = await anonymous.GetAsync(Prefix + Path.GetRelativePath(files, file));

            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
            Assert.Equal("video/mp4", whole.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"{id}.mp4", whole.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            Assert.False(whole.Headers.Contains("X-Accel-Redirect"));
            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal("ftyp"u8.ToArray(), await range.Content.ReadAsByteArrayAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, keyless.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, internalOnly.StatusCode);
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(files);
        }
    }

    [Fact]
    public async Task Content_RedirectWithS3_302ToAPresignedUrlThatServesTheBytes()
    {
        var bucket = s3.NewBucketOptions();
        await using var server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Storage:Kind"] = "s3",
            ["Reelay:Storage:S3:ServiceUrl"] = bucket.ServiceUrl,
            ["Reelay:Storage:S3:Bucket"] = bucket.Bucket,
            ["Reelay:Storage:S3:AccessKeyId"] = bucket.AccessKeyId,
            ["Reelay:Storage:S3:SecretAccessKey"] = bucket.SecretAccessKey,
            ["Reelay:Storage:S3:CreateBucket"] = "true",
            ["Reelay:Content:Offload"] = "redirect",
            ["Reelay:Content:RedirectLifetime"] = "00:01:00",
        });
        var id = await CompletedVideoAsync(server);
        using var owner = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        owner.DefaultRequestHeaders.Authorization = server.Http.DefaultRequestHeaders.Authorization;
        using var other = await OtherClientKeyAsync(server);

        using var response = await owner.GetAsync($"/v1/videos/{id}/content");
        using var foreign = await other.GetAsync($"/v1/videos/{id}/content");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var location = response.Headers.Location!;
        Assert.StartsWith(bucket.ServiceUrl!.TrimEnd('/'), location.AbsoluteUri, StringComparison.Ordinal);
        // The SDK rounds the lifetime up to whole seconds from its own clock: 60 or 61.
        Assert.Matches(@"[?&]X-Amz-Expires=6[01](&|$)", location.Query);
        // A presigned URL names the access key id (X-Amz-Credential) and carries a signature, never the secret. s3rver's
        // secret equals its key id, so the credential parameter is left out of this check.
        var rest = string.Join('&', location.Query.TrimStart('?').Split('&').Where(p => !p.StartsWith("X-Amz-Credential=", StringComparison.Ordinal)));
        Assert.Contains("X-Amz-Signature=", rest, StringComparison.Ordinal);
        Assert.DoesNotContain(bucket.SecretAccessKey!, rest, StringComparison.Ordinal);
        using var plain = new HttpClient();
        using var fetched = await plain.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        var bytes = await fetched.Content.ReadAsByteArrayAsync();
        using var s3Client = S3ResultStore.CreateClient(bucket);
        var stored = await s3Client.GetObjectMetadataAsync(bucket.Bucket, $"videos/{id}.mp4");
        Assert.Equal(stored.ContentLength, bytes.Length);
        Assert.Equal("ftyp"u8.ToArray(), bytes[4..8]);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Null(foreign.Headers.Location);
    }

    [Theory]
    [InlineData("x-accel-redirect", "s3", "needs Reelay:Storage:Kind 'local'")]
    [InlineData("redirect", "local", "needs Reelay:Storage:Kind 's3'")]
    [InlineData("sendfile", "local", "'sendfile' is not supported")]
    public void Validate_OffloadThatCannotWork_NamesTheSetting(string offload, string storage, string expected)
    {
        var errors = new ContentOptions { Offload = offload }.Validate(storage).ToList();

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal) && e.StartsWith("Reelay:Content:Offload", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("files/")]
    [InlineData("/files")]
    [InlineData("/fi les/")]
    public void Validate_BadAccelRedirectPrefix_Rejected(string prefix)
    {
        var errors = new ContentOptions { Offload = "x-accel-redirect", AccelRedirectPrefix = prefix }.Validate("local").ToList();

        Assert.Single(errors, e => e.StartsWith("Reelay:Content:AccelRedirectPrefix", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        Assert.Empty(new ContentOptions().Validate("local"));
        Assert.Empty(new ContentOptions { Offload = "redirect" }.Validate("s3"));
    }
}
