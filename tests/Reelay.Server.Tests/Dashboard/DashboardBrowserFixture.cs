using Microsoft.Playwright;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Dashboard;

/// <summary>
/// One real gateway (sandbox renders limited to one at a time, so a test can hold a job in the queue) and one headless
/// Chromium: Debian's system browser driven by Playwright, which never downloads a browser of its own here.
/// </summary>
public sealed class DashboardBrowserFixture : IAsyncLifetime
{
    /// <summary>Where the system browser is; scripts/prereqs.sh test installs it.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public ReelayTestServer Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Screenshots go here: the test results folder (REELAY_TEST_RESULTS when set) under dashboard-screenshots.</summary>
    public string ScreenshotDirectory { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("REELAY_TEST_RESULTS") is { Length: > 0 } results ? results : Path.Combine(AppContext.BaseDirectory, "TestResults"),
        "dashboard-screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"The browser tests need Debian's chromium at {ChromiumPath}: run scripts/prereqs.sh test (apt-get install -y chromium).");
        }

        Directory.CreateDirectory(ScreenshotDirectory);
        Server = await ReelayTestServer.StartAsync(new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1" });
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox; the pages are our own.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
            Timeout = 60_000,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    /// <summary>A fresh browser context (its own cookies) on the gateway, optionally phone-sized.</summary>
    public async Task<IPage> NewPageAsync(bool phone = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>Signs in through the form, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/dashboard/jobs");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync("**/dashboard/jobs");
    }
}
