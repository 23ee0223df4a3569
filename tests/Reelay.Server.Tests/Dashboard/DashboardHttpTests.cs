using System.Net;
using System.Text.RegularExpressions;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Dashboard;

/// <summary>The dashboard's session and form protections, over plain HTTP (no browser).</summary>
public sealed partial class DashboardHttpTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task SignIn_WithoutAntiforgeryToken_Returns400AndNoSession()
    {
        using var client = NewClient(out var cookies);
        using var response = await client.PostAsync("/dashboard/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = _server.ApiKey }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("security token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(cookies.GetCookies(_server.BaseAddress).Cast<Cookie>(), c => c.Name == "reelay_dashboard");
    }

    [Fact]
    public async Task SignIn_WithToken_SetsHttpOnlyStrictCookieWithoutTheKey()
    {
        using var client = NewClient(out _);
        var token = await TokenAsync(client, "/dashboard/signin");
        using var response = await client.PostAsync("/dashboard/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = _server.ApiKey, ["__csrf"] = token }));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("reelay_dashboard=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_server.ApiKey, setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.ApiKey, response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelForm_WithoutToken_Returns400AndJobKeepsRunning()
    {
        using var client = NewClient(out _);
        await SignInAsync(client);
        using var response = await client.PostAsync("/dashboard/jobs/video_0123/cancel", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task Pages_SignedOut_RedirectToSignInAndStreamsAre401()
    {
        using var client = NewClient(out _);
        using var page = await client.GetAsync("/dashboard/jobs?status=failed");
        Assert.Equal(HttpStatusCode.Found, page.StatusCode);
        Assert.Equal("/dashboard/signin?return=%2Fdashboard%2Fjobs%3Fstatus%3Dfailed", page.Headers.Location!.ToString());
        using var video = await client.PostAsync("/dashboard/keys", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.Unauthorized, video.StatusCode);
    }

    [Fact]
    public async Task JobsPage_HostileFilters_ListsWithProblemsNamed()
    {
        using var client = NewClient(out _);
        await SignInAsync(client);
        using var response = await client.GetAsync("/dashboard/jobs?status=%F0%9F%92%A5&limit=-4&since=yesterday&after=%00");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("is not one of queued", html, StringComparison.Ordinal);
        Assert.Contains("limit &#x27;-4&#x27; must be", html, StringComparison.Ordinal);
        Assert.Contains("since &#x27;yesterday&#x27; is not a date", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobPage_DerivedJob_ShowsModelOptionsButNotReservedKeys()
    {
        using var source = await _server.Http.PostAsync("/v1/videos", new StringContent("{\"model\":\"sandbox\",\"prompt\":\"a lighthouse\",\"seconds\":\"1\",\"size\":\"64x64\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(source.IsSuccessStatusCode, await source.Content.ReadAsStringAsync());
        var sourceId = System.Text.Json.JsonDocument.Parse(await source.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (System.Text.Json.JsonDocument.Parse(await _server.Http.GetStringAsync($"/v1/videos/{sourceId}")).RootElement.GetProperty("status").GetString() != "completed")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the sandbox job did not complete");
            await Task.Delay(200);
        }

        using var remix = await _server.Http.PostAsync($"/v1/videos/{sourceId}/remix", new StringContent("{\"prompt\":\"at night\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(remix.IsSuccessStatusCode, await remix.Content.ReadAsStringAsync());
        var remixId = System.Text.Json.JsonDocument.Parse(await remix.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        using var client = NewClient(out _);
        await SignInAsync(client);
        var html = await client.GetStringAsync($"/dashboard/jobs/{remixId}");
        Assert.Contains(remixId, html, StringComparison.Ordinal);
        Assert.DoesNotContain("reelay.operation", html, StringComparison.Ordinal); // kept on the remix job, Reelay's own bookkeeping
    }

    [Fact]
    public async Task TryForm_InvalidDuration_Returns400WithTheFieldNamed()
    {
        using var client = NewClient(out _);
        await SignInAsync(client);
        var token = await TokenAsync(client, "/dashboard/try");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(token), "__csrf" },
            { new StringContent("sandbox"), "model" },
            { new StringContent("t2v"), "mode" },
            { new StringContent("A test"), "prompt" },
            { new StringContent("99"), "seconds" },
            { new StringContent("size:640x360"), "shape" },
        };
        using var response = await client.PostAsync("/dashboard/try", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Not submitted (", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminPages_AdminSeesThemClientGets404()
    {
        using var admin = NewClient(out _);
        await SignInAsync(admin);
        var providers = await admin.GetStringAsync("/dashboard/providers");
        Assert.Contains("data-provider=\"sandbox\"", providers, StringComparison.Ordinal);
        Assert.Contains("Spend per day", await admin.GetStringAsync("/dashboard/usage"), StringComparison.Ordinal);
        Assert.Contains("Create a key", await admin.GetStringAsync("/dashboard/keys"), StringComparison.Ordinal);

        using var created = await _server.Http.PostAsync("/admin/keys", new StringContent("{\"name\":\"http-test client\",\"scope\":\"client\"}", System.Text.Encoding.UTF8, "application/json"));
        var secret = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        using var client = NewClient(out _);
        await SignInAsync(client, secret);
        using var denied = await client.GetAsync("/dashboard/providers");
        Assert.Equal(HttpStatusCode.NotFound, denied.StatusCode);
        using var usage = await client.GetAsync("/dashboard/usage");
        Assert.Equal(HttpStatusCode.OK, usage.StatusCode);
        Assert.DoesNotContain("Unresolved charges", await usage.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private HttpClient NewClient(out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _server.BaseAddress };
    }

    private async Task SignInAsync(HttpClient client, string? key = null)
    {
        var token = await TokenAsync(client, "/dashboard/signin");
        using var response = await client.PostAsync("/dashboard/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = key ?? _server.ApiKey, ["__csrf"] = token }));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
    }

    private static async Task<string> TokenAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(path);
        return TokenField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("no antiforgery field on " + path);
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
