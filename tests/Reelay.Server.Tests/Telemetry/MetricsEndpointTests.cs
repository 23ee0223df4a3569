using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Telemetry;

/// <summary>GET /metrics on a real gateway: auth, the Reelay series after sandbox jobs, promtool, and a real Prometheus scraping it.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_WithoutKey_Returns401InOpenAIEnvelope()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains("admin key", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("reelay_", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ClientKey_Returns403()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var created = await server.Http.PostAsync("/admin/keys", new StringContent("""{"name":"metrics-test"}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, body);
        var secret = JsonDocument.Parse(body).RootElement.GetProperty("key").GetString();
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_AfterSandboxJob_HasReelaySeriesAndPassesPromtool()
    {
        var promtool = TelemetryTestSupport.Find("promtool");
        Assert.True(promtool is not null, "promtool is not installed (scripts/prereqs.sh test installs the Debian package prometheus)");
        await using var server = await ReelayTestServer.StartAsync();
        await TelemetryTestSupport.RenderSandboxVideoAsync(server.Http);

        var text = await ScrapeUntilAsync(server, t => t.Contains("reelay_sandbox_renders_total{", StringComparison.Ordinal) && t.Contains("reelay_polls_total{", StringComparison.Ordinal));
        Assert.Equal("text/plain", (await HeadAsync(server))?.MediaType);
        Assert.Matches("""reelay_job_transitions_total\{[^}]*reelay_state="succeeded"[^}]*\} [1-9]""", text);
        Assert.Matches("""reelay_job_transitions_total\{[^}]*reelay_model="sandbox"[^}]*\}""", text);
        Assert.Matches("""reelay_submits_total\{[^}]*reelay_outcome="accepted"[^}]*reelay_provider="sandbox"[^}]*\} [1-9]|reelay_submits_total\{[^}]*reelay_provider="sandbox"[^}]*reelay_outcome="accepted"[^}]*\} [1-9]""", text);
        Assert.Matches("""reelay_polls_total\{[^}]*reelay_outcome="succeeded"[^}]*\} [1-9]""", text);
        Assert.Contains("reelay_poll_lateness_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("reelay_upstream_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Matches("""reelay_sandbox_renders_total\{[^}]*reelay_outcome="succeeded"[^}]*\} [1-9]""", text);
        Assert.Contains("reelay_jobs_active{", text, StringComparison.Ordinal);
        Assert.Contains("reelay_queue_depth{", text, StringComparison.Ordinal);
        Assert.Contains("reelay_provider_in_flight{", text, StringComparison.Ordinal);
        Assert.Matches("""http_server_request_duration_seconds_bucket\{[^}]*http_route="/v1/videos/\{id\}"[^}]*\}""", text);

        var (code, output) = await TelemetryTestSupport.RunAsync(promtool!, ["check", "metrics"], text);
        Assert.True(code == 0, $"promtool check metrics failed ({code}): {output}");
    }

    [Fact]
    public async Task Metrics_AfterApiRequests_DocumentedSeriesKeptPoolAndRoutingCountersLeftOut()
    {
        await using var server = await ReelayTestServer.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            using var models = await server.Http.GetAsync("/v1/models");
            Assert.True(models.IsSuccessStatusCode);
        }

        var text = await ScrapeUntilAsync(server, t => t.Contains("""http_route="/v1/models""", StringComparison.Ordinal));
        Assert.Matches("""http_server_request_duration_seconds_bucket\{[^}]*http_route="/v1/models"[^}]*\}""", text);
        Assert.Contains("kestrel_active_connections", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aspnetcore_memory_pool_", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aspnetcore_routing_match_attempts", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ScrapedByRealPrometheus_QueryReturnsReelaySeries()
    {
        var prometheus = TelemetryTestSupport.Find("prometheus");
        Assert.True(prometheus is not null, "prometheus is not installed (scripts/prereqs.sh test installs the Debian package prometheus)");
        await using var server = await ReelayTestServer.StartAsync();
        await TelemetryTestSupport.RenderSandboxVideoAsync(server.Http);

        var folder = Directory.CreateTempSubdirectory("reelay-prometheus-");
        var port = TelemetryTestSupport.FreePort();
        var target = $"{server.BaseAddress.Host}:{server.BaseAddress.Port}";
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "key"), server.ApiKey);
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: reelay
                metrics_path: /metrics
                authorization:
                  type: Bearer
                  credentials_file: {Path.Combine(folder.FullName, "key")}
                static_configs:
                  - targets: ["{target}"]
            """);
        var psi = new ProcessStartInfo(prometheus!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { $"--config.file={Path.Combine(folder.FullName, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(folder.FullName, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var clock = Stopwatch.StartNew();
            string? last = null;
            while (clock.Elapsed < TimeSpan.FromSeconds(45))
            {
                try
                {
                    last = await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString("""sum(reelay_sandbox_renders_total{reelay_outcome="succeeded"})"""));
                    var result = JsonDocument.Parse(last).RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() > 0 && double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= 1)
                    {
                        // The scrape itself succeeded too: Prometheus marks the target up.
                        var up = JsonDocument.Parse(await http.GetStringAsync("/api/v1/query?query=up%7Bjob%3D%22reelay%22%7D")).RootElement.GetProperty("data").GetProperty("result");
                        Assert.Equal("1", up[0].GetProperty("value")[1].GetString());
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(250);
            }

            string output;
            lock (log)
            {
                output = log.ToString();
            }

            Assert.Fail($"Prometheus never returned reelay_sandbox_renders_total; last answer: {last}; its log: {output}");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Metrics_SeparateListener_ServesWithoutAuthAndOnlyThere()
    {
        var port = TelemetryTestSupport.FreePort();
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Telemetry:MetricsUrl"] = $"http://127.0.0.1:{port}" });
        using var anonymous = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using (var metrics = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("# TYPE", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The API is not served on the metrics listener, even with a key, and /metrics is not on the API's listener.
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
        using (var models = await anonymous.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.NotFound, models.StatusCode);
        }

        using var main = await server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, main.StatusCode);
        Assert.NotEqual(port, server.BaseAddress.Port);
    }

    [Fact]
    public async Task Start_InvalidTelemetrySettings_FailsNamingThem()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Telemetry:MetricsUrl"] = "ftp://example",
            ["Reelay:Telemetry:OtlpProtocol"] = "carrier-pigeon",
            ["Reelay:Logging:Format"] = "xml",
            ["Reelay:Logging:FlushInterval"] = "00:01:00",
        }));
        Assert.Contains("Reelay:Telemetry:MetricsUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reelay:Telemetry:OtlpProtocol", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reelay:Logging:Format", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reelay:Logging:FlushInterval", error.Message, StringComparison.Ordinal);
    }

    private static async Task<MediaTypeHeaderValue?> HeadAsync(ReelayTestServer server)
    {
        using var response = await server.Http.GetAsync("/metrics");
        return response.Content.Headers.ContentType;
    }

    // The exporter caches a scrape for a moment; a new series may need the next one.
    private static async Task<string> ScrapeUntilAsync(ReelayTestServer server, Func<string, bool> done)
    {
        var clock = Stopwatch.StartNew();
        string text;
        do
        {
            using var response = await server.Http.GetAsync("/metrics");
            text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            if (done(text))
            {
                return text;
            }

            await Task.Delay(200);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(10));
        return text;
    }
}
