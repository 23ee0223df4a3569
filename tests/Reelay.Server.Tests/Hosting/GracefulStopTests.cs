using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Server.Hosting;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

/// <summary>Issue 16 item 6: SIGTERM drains (readiness down, submits refused, local renders finish) and leaves the rest for recovery.</summary>
public sealed class GracefulStopTests
{
    private static readonly Dictionary<string, string> Verbose = new()
    {
        ["Logging__LogLevel__Reelay.Server.Hosting"] = "Information",
    };

    [Theory]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","seconds":"4","size":"1280x720"}""")]
    [InlineData("/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"x"}}""")]
    [InlineData("/v2/video/generations", """{"model":"sandbox","prompt":"x"}""")]
    [InlineData("/v2/videos/generations", """{"model":"sandbox","prompt":"x"}""")]
    public async Task Submit_WhileDraining_503WithRetryAfterInTheDialectsEnvelope(string route, string body)
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"before","seconds":"4","size":"1280x720"}""", Encoding.UTF8, "application/json"));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        server.App.Services.GetRequiredService<ServerDrain>().Begin();
        using var refused = await server.Http.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        using var ready = await server.Http.GetAsync("/readyz");
        using var read = await server.Http.GetAsync($"/v1/videos/{id}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.Contains("shutting down", text, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var shutdown = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "shutdown");
        Assert.Equal("Unhealthy", shutdown.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task Submit_NotDraining_NotRefused()
    {
        await using var server = await ReelayTestServer.StartAsync();

        using var response = await server.Http.PostAsync("/v1/tasks/submit", new StringContent("""{"model":"sandbox","input":{"prompt":"x"}}""", Encoding.UTF8, "application/json"));
        using var ready = await server.Http.GetAsync("/readyz");

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Serve_SigtermMidRenderWithinDrainTime_RenderFinishesAndExitsZero()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-drain-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        try
        {
            string id;
            await using (var first = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, new Dictionary<string, string>(Verbose) { ["Reelay__Shutdown__DrainTimeout"] = "00:02:00" }))
            {
                id = await SubmitAndWaitInProgressAsync(first, 8);
                first.Terminate();

                await WaitForStatusAsync(first.Http, "/readyz", HttpStatusCode.ServiceUnavailable);
                using var refused = await first.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"late","seconds":"4","size":"1280x720"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.NotNull(refused.Headers.RetryAfter);
                using var read = await first.Http.GetAsync($"/v1/videos/{id}");
                Assert.Equal(HttpStatusCode.OK, read.StatusCode);

                Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(150)));
                Assert.Contains("1 local renders finished", first.Output, StringComparison.Ordinal);
            }

            // Finished before the exit, not re-rendered after the restart: the very first read says completed.
            await using var second = await CrashRecoveryTests.ServeProcess.StartAsync(data, key);
            var video = await second.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            Assert.Equal("completed", video.GetProperty("status").GetString());
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task Serve_SigtermWithRenderLongerThanDrainTime_ExitsInTimeAndJobCompletesAfterRestart()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-drain-short-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        var drain = TimeSpan.FromSeconds(1);
        try
        {
            string id;
            await using (var first = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, new Dictionary<string, string>(Verbose) { ["Reelay__Shutdown__DrainTimeout"] = "00:00:01" }))
            {
                id = await SubmitAndWaitInProgressAsync(first, 12);
                var stopping = Stopwatch.StartNew();
                first.Terminate();

                Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.True(stopping.Elapsed < drain + TimeSpan.FromSeconds(10), $"the gateway took {stopping.Elapsed} to stop with a drain time of {drain}");
                Assert.Contains("Drain time ran out", first.Output, StringComparison.Ordinal);
                Assert.Contains("1 renders and 0 webhook attempts are left for recovery", first.Output, StringComparison.Ordinal);
            }

            await using var second = await CrashRecoveryTests.ServeProcess.StartAsync(data, key);
            var until = DateTime.UtcNow.AddSeconds(120);
            JsonElement video;
            while ((video = await second.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString() is not ("completed" or "failed"))
            {
                Assert.True(DateTime.UtcNow < until, $"{id} did not finish after the restart");
                await Task.Delay(100);
            }

            Assert.Equal("completed", video.GetProperty("status").GetString());
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    private static async Task<string> SubmitAndWaitInProgressAsync(CrashRecoveryTests.ServeProcess server, int seconds)
    {
        using var response = await server.Http.PostAsync("/v1/videos", new StringContent($$"""{"model":"sandbox","prompt":"drain","seconds":"{{seconds}}","size":"1280x720"}""", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var until = DateTime.UtcNow.AddSeconds(60);
        while ((await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString() != "in_progress")
        {
            Assert.True(DateTime.UtcNow < until, "the job never started");
            await Task.Delay(50);
        }

        return id;
    }

    private static async Task WaitForStatusAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var response = await http.GetAsync(path);
            if (response.StatusCode == expected)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < until, $"{path} still answers {response.StatusCode}");
            await Task.Delay(20);
        }
    }
}
