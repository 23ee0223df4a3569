using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Content;

/// <summary>
/// Reelay:Storage:Thumbnails=false on a real gateway with a real sandbox render: the video is served, the thumbnail
/// variant is a clear 404 in the dialect's envelope (not a 500), and the dashboard asks for no poster.
/// </summary>
public sealed partial class ThumbnailsSettingTests
{
    [Fact]
    public async Task Content_ThumbnailsOff_VideoServedThumbnail404AndDashboardAsksForNoPoster()
    {
        await using var server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Storage:Thumbnails"] = "false",
            ["Reelay:Storage:Spritesheet"] = "false",
        });
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"no stills","seconds":"1","size":"160x120"}""", Encoding.UTF8, "application/json"));
        var createdText = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, createdText);
        var id = JsonDocument.Parse(createdText).RootElement.GetProperty("id").GetString()!;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement.GetProperty("status").GetString() != "completed")
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "the sandbox job did not complete");
            await Task.Delay(100);
        }

        var video = await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content");
        using var thumbnail = await server.Http.GetAsync($"/v1/videos/{id}/content?variant=thumbnail");
        using var dashboard = await SignedInAsync(server);
        var page = await dashboard.GetStringAsync($"/dashboard/jobs/{id}");
        using var dashboardThumbnail = await dashboard.GetAsync($"/dashboard/jobs/{id}/thumbnail");

        Assert.Equal("ftyp", Encoding.ASCII.GetString(video, 4, 4));
        Assert.Equal(HttpStatusCode.NotFound, thumbnail.StatusCode);
        var error = JsonDocument.Parse(await thumbnail.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Contains("thumbnail", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains($"/dashboard/jobs/{id}/video", page, StringComparison.Ordinal);
        Assert.DoesNotContain("/thumbnail", page, StringComparison.Ordinal);
        Assert.DoesNotContain("poster=", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, dashboardThumbnail.StatusCode);
    }

    [Fact]
    public async Task Start_ThumbnailsNotABoolean_RefusedNamingTheSetting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReelayTestServer.StartAsync(new() { ["Reelay:Storage:Thumbnails"] = "sometimes" }));

        Assert.Contains("Reelay:Storage:Thumbnails", error.ToString(), StringComparison.Ordinal);
    }

    private static async Task<HttpClient> SignedInAsync(ReelayTestServer server)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        var signIn = await client.GetStringAsync("/dashboard/signin");
        var token = TokenField().Match(signIn) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("no antiforgery field");
        using var response = await client.PostAsync("/dashboard/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = server.ApiKey, ["__csrf"] = token }));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return client;
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
