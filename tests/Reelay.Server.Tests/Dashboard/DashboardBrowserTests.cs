using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Reelay.Server.Tests.Dashboard;

/// <summary>The dashboard in real Chromium against a real gateway rendering with the sandbox (local ffmpeg, not AI).</summary>
[Trait("Category", "Browser")]
public sealed class DashboardBrowserTests(DashboardBrowserFixture fixture) : IClassFixture<DashboardBrowserFixture>
{
    [Fact]
    public async Task TryForm_SandboxJob_ProgressChangesLiveAndVideoPlays()
    {
        var page = await fixture.NewPageAsync();
        await DashboardBrowserFixture.SignInAsync(page, fixture.Server.ApiKey);

        // The only render slot is taken by a long job submitted through the API, so the form's job waits in the queue
        // and the page sees it go queued -> running -> succeeded live.
        var blocker = await SubmitAsync(fixture.Server.Http, "A long blocking render", 20, "1920x1080");

        await page.GotoAsync("/dashboard/try");
        await page.GetByLabel("Model").SelectOptionAsync("sandbox");
        await page.GetByLabel("Prompt").FillAsync("A paper boat on a pond, browser test");
        await page.GetByLabel("Duration (seconds)").SelectOptionAsync("2");
        await page.GetByLabel("Size").SelectOptionAsync("size:640x360");
        await fixture.ScreenshotAsync(page, "try-form");
        await page.GetByRole(AriaRole.Button, new() { Name = "Submit job" }).ClickAsync();
        await page.WaitForURLAsync("**/dashboard/jobs/video_*");
        var jobId = page.Url[(page.Url.LastIndexOf('/') + 1)..];

        Assert.Equal("queued", await page.GetAttributeAsync("#job", "data-status"));
        // A marker on window survives only if the page is never reloaded; the observer records every status it shows.
        await page.EvaluateAsync(@"() => {
            window.__noReload = true; window.__seen = [];
            const badge = document.querySelector('#job [data-field=status]');
            new MutationObserver(() => window.__seen.push(badge.textContent + ' ' + document.querySelector('#job [data-field=progress-text]').textContent))
                .observe(document.getElementById('job'), { subtree: true, childList: true, characterData: true });
        }");
        await fixture.ScreenshotAsync(page, "job-queued");

        using (var cancel = await fixture.Server.Http.PostAsync($"/v1/videos/{blocker}/cancel", null))
        {
            Assert.True(cancel.IsSuccessStatusCode, $"cancelling the blocker answered {(int)cancel.StatusCode}");
        }

        await page.WaitForFunctionAsync("() => document.getElementById('job').dataset.status === 'succeeded'", null, new() { Timeout = 60_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__noReload === true"), "the job page reloaded");
        var seen = await page.EvaluateAsync<string[]>("() => window.__seen");
        Assert.Contains(seen, s => s.StartsWith("succeeded 100%", StringComparison.Ordinal));
        Assert.True(seen.Length >= 2, "expected live changes, saw: " + string.Join(" | ", seen));

        // The player came in without a reload; its metadata loads from the dashboard's content route.
        await page.WaitForFunctionAsync("() => { const v = document.getElementById('player'); return v && v.readyState >= 1 && v.duration > 0; }", null, new() { Timeout = 30_000 });
        var duration = await page.EvaluateAsync<double>("() => document.getElementById('player').duration");
        Assert.InRange(duration, 1.5, 2.5);
        await page.EvaluateAsync("() => { const v = document.getElementById('player'); v.muted = true; return v.play(); }");
        await page.WaitForFunctionAsync("() => { const v = document.getElementById('player'); return v.readyState >= 2 && v.currentTime > 0; }", null, new() { Timeout = 30_000 });
        await fixture.ScreenshotAsync(page, "job-succeeded-live");

        // After a reload the page shows the finished job with thumbnail and spritesheet scrubber.
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => { const v = document.getElementById('player'); return v && v.readyState >= 1; }");
        await page.Locator("#sprite-frame").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowRight");
        Assert.Equal("Frame 3 of 10", await page.GetAttributeAsync("#sprite", "aria-label"));
        Assert.Matches("not (an )?AI", await page.InnerTextAsync("#job"));
        await fixture.ScreenshotAsync(page, "job-page");

        // The list, filtered by status and prompt text, shows it; another prompt's filter does not.
        await page.GotoAsync("/dashboard/jobs");
        await page.GetByLabel("Status").SelectOptionAsync("succeeded");
        await page.GetByLabel("Text in prompt").FillAsync("paper boat");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync("**/dashboard/jobs?*");
        Assert.Equal(1, await page.Locator($"tr[data-job-id='{jobId}']").CountAsync());
        Assert.Equal(0, await page.Locator($"tr[data-job-id='{blocker}']").CountAsync());
        await fixture.ScreenshotAsync(page, "jobs-filtered");
        await page.GotoAsync("/dashboard/jobs?status=cancelled");
        Assert.Equal(0, await page.Locator($"tr[data-job-id='{jobId}']").CountAsync());
        Assert.Equal(1, await page.Locator($"tr[data-job-id='{blocker}']").CountAsync());

        var phone = await fixture.NewPageAsync(phone: true);
        await DashboardBrowserFixture.SignInAsync(phone, fixture.Server.ApiKey);
        await phone.GotoAsync($"/dashboard/jobs/{jobId}");
        await fixture.ScreenshotAsync(phone, "job-page-phone");
        var overflow = await phone.EvaluateAsync<string>(@"() => document.documentElement.scrollWidth <= window.innerWidth + 1 ? '' :
            [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id).join(', ') || 'the page'");
        Assert.True(overflow.Length == 0, "the job page scrolls sideways on a phone-sized screen: " + overflow);
        await phone.Context.CloseAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task KeysPage_CreateThenRevoke_SecretShownOnceAndKeyStopsWorking()
    {
        var page = await fixture.NewPageAsync();
        await DashboardBrowserFixture.SignInAsync(page, fixture.Server.ApiKey);
        await page.GotoAsync("/dashboard/keys");
        await page.GetByLabel("Name").FillAsync("browser-test client");
        await page.GetByLabel("Budget (USD, empty: none)").FillAsync("5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await page.InputValueAsync("#new-secret");
        var keyId = await page.InnerTextAsync("#new-key-id");
        Assert.StartsWith("rk_", secret, StringComparison.Ordinal);
        await fixture.ScreenshotAsync(page, "key-created");

        using var client = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using (var works = await client.GetAsync("/v1/videos"))
        {
            Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        }

        // Shown once: the list does not carry it, and neither does any later page.
        await page.GotoAsync("/dashboard/keys");
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(5m, decimal.Parse(await page.InputValueAsync($"#b-{keyId}"), System.Globalization.CultureInfo.InvariantCulture));

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.Locator($"tr[data-key-id='{keyId}']").GetByRole(AriaRole.Button, new() { Name = "Revoke key browser-test client" }).ClickAsync();
        await page.WaitForFunctionAsync($"() => document.querySelector(\"tr[data-key-id='{keyId}'] [data-field=state]\").textContent.startsWith('revoked')");
        await fixture.ScreenshotAsync(page, "key-revoked");
        using (var refused = await client.GetAsync("/v1/videos"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ClientKey_AnotherKeysJob_Gets404AndNoAdminPages()
    {
        var adminJob = await SubmitAsync(fixture.Server.Http, "An admin's private job", 1, "64x64");
        var secret = await CreateClientKeyAsync("browser-test isolation");
        var page = await fixture.NewPageAsync();
        await DashboardBrowserFixture.SignInAsync(page, secret);

        var cookies = await page.Context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "reelay_dashboard");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.DoesNotContain(secret, session.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, page.Url, StringComparison.Ordinal);

        var response = await page.GotoAsync($"/dashboard/jobs/{adminJob}");
        Assert.Equal(404, response!.Status);
        Assert.Contains(adminJob, await page.InnerTextAsync("#error-message"), StringComparison.Ordinal);
        await fixture.ScreenshotAsync(page, "client-other-job-404");
        Assert.Equal(404, (await page.GotoAsync($"/dashboard/jobs/{adminJob}/video"))!.Status);
        Assert.Equal(404, (await page.GotoAsync("/dashboard/keys"))!.Status);
        await page.GotoAsync("/dashboard/jobs");
        Assert.Equal(0, await page.Locator($"tr[data-job-id='{adminJob}']").CountAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignIn_WrongKeyThenSignOut_RefusedAndSessionEnds()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/dashboard/jobs");
        Assert.Contains("/dashboard/signin", page.Url, StringComparison.Ordinal);
        await page.GetByLabel("API key").FillAsync("rk_not_a_real_key");
        var refused = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(), r => r.Url.EndsWith("/dashboard/signin", StringComparison.Ordinal));
        Assert.Equal(401, refused.Status);
        Assert.Contains("not accepted", await page.InnerTextAsync("#signin-error"), StringComparison.Ordinal);
        await fixture.ScreenshotAsync(page, "signin-refused");

        await page.GetByLabel("API key").FillAsync(fixture.Server.ApiKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/dashboard/jobs");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/dashboard/signin");
        await page.GotoAsync("/dashboard/keys");
        Assert.Contains("/dashboard/signin", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    private static async Task<string> SubmitAsync(HttpClient http, string prompt, int seconds, string size)
    {
        using var response = await http.PostAsJsonAsync("/v1/videos", new { model = "sandbox", prompt, seconds = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), size });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private async Task<string> CreateClientKeyAsync(string name)
    {
        using var response = await fixture.Server.Http.PostAsJsonAsync("/admin/keys", new { name, scope = "client" });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("key").GetString()!;
    }
}
