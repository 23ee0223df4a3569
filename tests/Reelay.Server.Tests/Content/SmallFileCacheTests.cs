using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Content;

/// <summary>
/// Issue 16 item 8: small local results are answered from memory (Reelay:Content:MemoryCacheBytes) with the same headers,
/// ranges and validators as from disk, and a file that changed (size, time or checksum) is read again.
/// </summary>
public sealed class SmallFileCacheTests
{
    private static async Task<string> CompletedAsync(HttpClient http)
    {
        using var created = await http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"from memory","seconds":"1","size":"160x120"}""", Encoding.UTF8, "application/json"));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            var status = (await http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString();
            if (status is "completed" or "failed")
            {
                Assert.Equal("completed", status);
                return id;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not finish");
    }

    private static async Task<string> PathOfAsync(ReelayTestServer server, string id)
    {
        var content = await server.App.Services.GetRequiredService<JobEngine>().OpenContentAsync(id, Caller.Admin, ContentVariant.Video, CancellationToken.None);
        return content.PhysicalPath!;
    }

    // Rewrites the file in place with other bytes of the same length and puts its time back: only memory still has the old bytes.
    private static byte[] Overwrite(string path)
    {
        var time = File.GetLastWriteTimeUtc(path);
        var other = File.ReadAllBytes(path);
        Array.Reverse(other);
        File.WriteAllBytes(path, other);
        File.SetLastWriteTimeUtc(path, time);
        return other;
    }

    private static readonly Dictionary<string, string?> CacheOn = new() { ["Reelay:Content:MemoryCacheBytes"] = "67108864" };

    [Fact]
    public async Task Content_SmallFileReadBefore_AnsweredFromMemoryWithRangesAndValidators()
    {
        await using var server = await ReelayTestServer.StartAsync(new Dictionary<string, string?>(CacheOn));
        var id = await CompletedAsync(server.Http);
        using var first = await server.Http.GetAsync($"/v1/videos/{id}/content");
        var original = await first.Content.ReadAsByteArrayAsync();
        var path = await PathOfAsync(server, id);

        Overwrite(path);

        using var second = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(original, await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.ETag, second.Headers.ETag);
        Assert.Equal(first.Content.Headers.LastModified, second.Content.Headers.LastModified);
        Assert.Equal("video/mp4", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"{id}.mp4", second.Content.Headers.ContentDisposition?.FileNameStar ?? second.Content.Headers.ContentDisposition?.FileName?.Trim('"'));

        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content") { Headers = { Range = new RangeHeaderValue(10, 29) } };
        using var partial = await server.Http.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(original[10..30], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 10-29/{original.Length}", partial.Content.Headers.ContentRange?.ToString());

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        conditional.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var notModified = await server.Http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Fact]
    public async Task Content_FileChangedUnderneath_ReadAgainNotServedStale()
    {
        await using var server = await ReelayTestServer.StartAsync(new Dictionary<string, string?>(CacheOn));
        var id = await CompletedAsync(server.Http);
        _ = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");
        var path = await PathOfAsync(server, id);
        var other = Overwrite(path);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));

        var now = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");

        Assert.Equal(other, now);
    }

    [Fact]
    public async Task Content_MemoryCacheOffByDefault_EveryReadFromDisk()
    {
        await using var server = await ReelayTestServer.StartAsync();
        var id = await CompletedAsync(server.Http);
        _ = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");
        var other = Overwrite(await PathOfAsync(server, id));

        var now = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");

        Assert.Equal(other, now);
    }

    [Fact]
    public async Task StartAsync_BadMemoryCacheSetting_FailsNamingTheKey()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReelayTestServer.StartAsync(new Dictionary<string, string?> { ["Reelay:Content:MemoryCacheBytes"] = "-1" }));
        Assert.Contains("Reelay:Content:MemoryCacheBytes", error.ToString());
    }
}
