using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>A real gateway routed to ModelVerse EMULATORS: end to end, failover, pinning and key hygiene.</summary>
public sealed class RoutingGatewayTests
{
    private static EmulatorOptions Fast(string key) => new() { ApiKey = key, QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMilliseconds(800) };

    [Fact]
    public async Task Gateway_SoraThroughModelVerse_CompletesWithTheRequestedVideo()
    {
        await using var mv = new ModelVerseEmulator(Fast("mv-key-0123456789"));
        await mv.StartAsync();
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "mv" }));

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "8", size = "1280x720" });
        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(server, id);
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        Assert.Contains("duration=8.0", probe, StringComparison.Ordinal);
        Assert.Equal("openai/sora-2/text-to-video", mv.Requests.First(r => r.PathAndQuery == "/v1/tasks/submit").Json.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Gateway_FirstDeploymentDown_FailsOverAndPinsPollsToTheSecond()
    {
        await using var down = new ModelVerseEmulator(Fast("down-key-0123456789"));
        await using var up = new ModelVerseEmulator(Fast("up-key-0123456789"));
        await down.StartAsync();
        await up.StartAsync();
        down.Faults.Add(FaultScope.Submit, new Fault.ServerError(503), times: 100);
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("down", "modelverse", down),
            GatewayWithEmulators.Instance("up", "modelverse", up),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "down", ["Reelay:Routes:sora-2:1:Provider"] = "up" }));

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "720x1280" });
        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Single(down.Requests);
        Assert.Equal("/v1/tasks/submit", down.Requests[0].PathAndQuery);
        Assert.Contains(up.Requests, r => r.PathAndQuery.StartsWith("/v1/tasks/status", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gateway_EveryDeploymentRefusesItsKey_FailsWithUpstreamAuthAndNeverShowsAKey()
    {
        await using var mv = new ModelVerseEmulator(Fast("the-real-key-0123456789"));
        await mv.StartAsync();
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv, apiKey: "sk-wrong-secret-key-abcdef"),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "mv" }));

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat" });
        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("failed", video.GetProperty("status").GetString());
        Assert.Equal("upstream_auth", video.GetProperty("error").GetProperty("code").GetString());
        var everything = await server.Http.GetStringAsync("/v1/videos?limit=100");
        Assert.DoesNotContain("sk-wrong-secret-key-abcdef", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("the-real-key", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_ModerationAtNinetyPercent_FailsWithModerationOfTheOutput()
    {
        await using var mv = new ModelVerseEmulator(Fast("mv-key-0123456789"));
        await mv.StartAsync();
        mv.Faults.ModerateAtNinety = true;
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "mv" }));

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat" });
        var video = await GatewayWithEmulators.WaitAsync(server, id);

        Assert.Equal("moderation_blocked", video.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Gateway_ExpiredResultUrl_JobKeepsRunningThenCompletesWithAFreshUrl()
    {
        await using var mv = new ModelVerseEmulator(Fast("mv-key-0123456789"));
        await mv.StartAsync();
        mv.Faults.ExpiredResultUrls = true;
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "mv" }));

        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat" });
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!mv.Requests.Any(r => r.PathAndQuery.Contains("status", StringComparison.Ordinal)) || mv.Tasks.All.Single().At(DateTimeOffset.UtcNow).Phase != TaskPhase.Succeeded)
        {
            Assert.True(DateTime.UtcNow < until);
            await Task.Delay(100);
        }

        await Task.Delay(1500); // several polls and downloads of an expired URL
        var stillRunning = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
        Assert.Equal("in_progress", stillRunning.GetProperty("status").GetString());

        mv.Faults.ExpiredResultUrls = false;
        var video = await GatewayWithEmulators.WaitAsync(server, id);
        Assert.Equal("completed", video.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Gateway_RequestNoDeploymentCanServe_400NamingEachSkippedDeployment()
    {
        await using var mv = new ModelVerseEmulator(Fast("mv-key-0123456789"));
        await mv.StartAsync();
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv),
            new() { ["Reelay:Routes:sora-2-pro:0:Provider"] = "mv", ["Reelay:Routes:sora-2-pro:0:Model"] = "openai/sora-2/text-to-video" }));

        using var response = await server.Http.PostAsJsonAsync("/v1/videos", new { model = "sora-2-pro", prompt = "x", size = "1792x1024" });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("mv (openai/sora-2/text-to-video): size 1792x1024 is not offered", body, StringComparison.Ordinal);
        Assert.Empty(mv.Requests);
    }

    [Fact]
    public async Task Gateway_BadProviderConfiguration_RefusesToStartNamingEachKey()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Providers:mv:Type"] = "modelvers",
            ["Reelay:Providers:mv:BaseUrl"] = "ftp://example.invalid",
            ["Reelay:Providers:mv:ApiKey"] = "sk-do-not-print-me-123",
            ["Reelay:Providers:mv:Colour"] = "blue",
            ["Reelay:Routes:sora-3:0:Provider"] = "mv",
            ["Reelay:Routes:sora-2:0:Provider"] = "nowhere",
        }));

        var text = error.ToString();
        Assert.Contains("Reelay:Providers:mv:Colour is not a known setting", text, StringComparison.Ordinal);
        Assert.Contains("Reelay:Providers:mv:Type 'modelvers' is not a provider type; allowed: ", text, StringComparison.Ordinal);
        Assert.Contains("Reelay:Providers:mv:BaseUrl must be an absolute http or https URL", text, StringComparison.Ordinal);
        Assert.Contains("Reelay:Routes:sora-3: 'sora-3' is not a model in the catalog", text, StringComparison.Ordinal);
        Assert.Contains("Reelay:Routes:sora-2:0:Provider 'nowhere' is not an instance", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-do-not-print-me-123", text, StringComparison.Ordinal);
    }
}
