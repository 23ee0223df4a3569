using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reelay.Engine;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Content;

public sealed class SignedContentTests
{
    [Fact]
    public async Task SignedUrl_WithoutApiKey_ServesTheVideoAndThumbnail_TamperingIsRefused()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"signed","seconds":"1","size":"160x120"}""", Encoding.UTF8, "application/json"));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        for (var i = 0; i < 300 && (await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString() != "completed"; i++)
        {
            await Task.Delay(100);
        }

        var signer = server.App.Services.GetRequiredService<ContentUrlSigner>();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        var video = await anonymous.GetByteArrayAsync(signer.SignedPath(id, ContentVariant.Video));
        Assert.Equal(await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content"), video);
        var thumbnail = await anonymous.GetByteArrayAsync(signer.SignedPath(id, ContentVariant.Thumbnail));
        Assert.Equal("webp", Reelay.Media.ImageInfo.Sniff(thumbnail)?.Format);

        var path = signer.SignedPath(id, ContentVariant.Video);
        using var tampered = await anonymous.GetAsync(path[..^2] + (path[^1] == 'A' ? "BB" : "AA"));
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);
        using var otherJob = await anonymous.GetAsync(path.Replace(id, "video_00000000000000000000000000000000", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, otherJob.StatusCode);
        using var otherVariant = await anonymous.GetAsync(path.Replace("/video?", "/thumbnail?", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, otherVariant.StatusCode);
    }

    [Fact]
    public void Verify_AfterLifetime_Refused()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var signer = new ContentUrlSigner(new byte[32], clock, TimeSpan.FromHours(1));
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(new Uri("http://x"), signer.SignedPath("video_1", ContentVariant.Video)).Query);
        Assert.True(signer.Verify("video_1", "video", query["expires"], query["signature"]));
        Assert.False(new ContentUrlSigner(Enumerable.Repeat((byte)1, 32).ToArray(), clock, TimeSpan.FromHours(1)).Verify("video_1", "video", query["expires"], query["signature"]));
        Assert.False(signer.Verify("video_1", "video", (long.Parse(query["expires"]!, System.Globalization.CultureInfo.InvariantCulture) + 3600).ToString(System.Globalization.CultureInfo.InvariantCulture), query["signature"]));

        clock.Advance(TimeSpan.FromHours(2));
        Assert.False(signer.Verify("video_1", "video", query["expires"], query["signature"]));
    }
}
