using System.Diagnostics;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>A real gateway with two ModelVerse EMULATORS, one hanging on submit: its circuit opens and routing skips it.</summary>
public sealed class CircuitGatewayTests
{
    private static EmulatorOptions Fast(string key) => new() { ApiKey = key, QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMilliseconds(300) };

    [Fact]
    public async Task Gateway_InstanceHangsPastTheThreshold_SkippedAndNextJobFailsOverWithoutWaitingATimeout()
    {
        await using var down = new ModelVerseEmulator(Fast("down-key-0123456789"));
        await using var up = new ModelVerseEmulator(Fast("up-key-0123456789"));
        await down.StartAsync();
        await up.StartAsync();
        down.Faults.Add(FaultScope.Submit, new Fault.Hang(), times: 100);
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("down", "modelverse", down),
            GatewayWithEmulators.Instance("up", "modelverse", up),
            new()
            {
                ["Reelay:Providers:down:Timeout"] = "00:00:03",
                ["Reelay:Providers:down:Circuit:FailureThreshold"] = "2",
                ["Reelay:Providers:down:Circuit:BreakDuration"] = "00:05:00",
                ["Reelay:Routes:sora-2:0:Provider"] = "down",
                ["Reelay:Routes:sora-2:1:Provider"] = "up",
            }));

        // Two jobs each pay the hanging instance's timeout, then fail over: that opens its circuit.
        for (var i = 0; i < 2; i++)
        {
            var paid = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "720x1280" });
            Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(server, paid)).GetProperty("status").GetString());
        }

        Assert.Equal(2, down.Requests.Count);
        var providers = JsonDocument.Parse(await server.Http.GetStringAsync("/admin/providers")).RootElement.GetProperty("data");
        var circuit = providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "down").GetProperty("circuit");
        Assert.Equal("open", circuit.GetProperty("state").GetString());
        Assert.Equal(2, circuit.GetProperty("consecutive_failures").GetInt32());
        Assert.Equal("closed", providers.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "up").GetProperty("circuit").GetProperty("state").GetString());

        // The next job goes straight to the second deployment: no request to the sick one, no timeout paid.
        var clock = Stopwatch.StartNew();
        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "720x1280" });
        while (up.Requests.Count(r => r.PathAndQuery == "/v1/tasks/submit") < 3 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the third submit reached the healthy instance after {clock.Elapsed}; a skipped instance must not cost a timeout");
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(server, id)).GetProperty("status").GetString());
        Assert.Equal(2, down.Requests.Count);

        // Readiness: the open circuit makes the node Degraded (still ready), and an admin sees why.
        using var ready = await server.Http.GetAsync("/readyz");
        var health = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(200, (int)ready.StatusCode);
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        var check = health.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "provider:down");
        Assert.Equal("Degraded", check.GetProperty("status").GetString());
        Assert.Contains("circuit open", check.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_EveryRoutedInstanceOpen_Unhealthy503()
    {
        await using var down = new ModelVerseEmulator(Fast("down-key-0123456789"));
        await down.StartAsync();
        down.Faults.Add(FaultScope.Submit, new Fault.ServerError(503), times: 100);
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("down", "modelverse", down),
            new()
            {
                ["Reelay:Providers:down:Circuit:FailureThreshold"] = "1",
                ["Reelay:Providers:down:Circuit:BreakDuration"] = "00:05:00",
                ["Reelay:Routes:sora-2:0:Provider"] = "down",
            }));

        await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "720x1280" });
        var until = DateTime.UtcNow.AddSeconds(20);
        JsonElement health;
        int status;
        do
        {
            await Task.Delay(50);
            using var ready = await server.Http.GetAsync("/readyz");
            status = (int)ready.StatusCode;
            health = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        }
        while (status != 503 && DateTime.UtcNow < until);

        Assert.Equal(503, status);
        var check = health.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "circuits");
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Contains("down", check.GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}
