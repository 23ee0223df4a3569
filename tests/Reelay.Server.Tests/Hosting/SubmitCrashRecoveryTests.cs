using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

/// <summary>`reelay serve` killed while submits are in flight to an upstream that can be looked up (the OpenAI Videos API EMULATOR).</summary>
public sealed class SubmitCrashRecoveryTests
{
    [Fact]
    public async Task Serve_KilledWithTwoSubmitsAtTheUpstreamAndOneWaitingToSend_AdoptsTwoResubmitsOneNoDuplicates()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-submit-crash-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        await using var upstream = new OpenAICompatibleEmulator(new EmulatorOptions { ApiKey = "sk-crash-secret-123456", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromSeconds(1) });
        await upstream.StartAsync();

        // The upstream creates each task at once but holds its reply, so the submits that arrived are caught there; a quarter
        // of a request per second (one permit every 4 s) holds the third in the rate limiter: submitting, its request unsent.
        upstream.Faults.SubmitReplyDelay = TimeSpan.FromMinutes(2);
        var environment = new Dictionary<string, string>
        {
            ["Reelay__Providers__oai__Type"] = "openai",
            ["Reelay__Providers__oai__BaseUrl"] = new Uri(upstream.BaseUrl, "v1").AbsoluteUri,
            ["Reelay__Providers__oai__ApiKey"] = upstream.Options.ApiKey,
            ["Reelay__Providers__oai__PollInterval"] = "00:00:00.200",
            ["Reelay__Providers__oai__MaxPollInterval"] = "00:00:00.500",
            ["Reelay__Providers__oai__MaxConcurrentJobs"] = "3",
            ["Reelay__Providers__oai__MaxRequestsPerSecond"] = "0.25",
            ["Reelay__Routes__sora-2__0__Provider"] = "oai",
        };
        try
        {
            var ids = new List<string>();
            await using (var first = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, environment))
            {
                for (var i = 0; i < 4; i++)
                {
                    using var response = await first.Http.PostAsync("/v1/videos", new StringContent($$"""{"model":"sora-2","prompt":"submit crash {{i}}","seconds":"4","size":"720x1280"}""", Encoding.UTF8, "application/json"));
                    Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                    ids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
                }

                var until = DateTime.UtcNow.AddSeconds(30);
                while (upstream.Tasks.Count < 2)
                {
                    Assert.True(DateTime.UtcNow < until, "two submits never reached the upstream");
                    await Task.Delay(10);
                }

                first.Crash();
            }

            Assert.Equal(2, upstream.Tasks.Count);
            upstream.Faults.SubmitReplyDelay = TimeSpan.Zero;
            environment["Reelay__Providers__oai__MaxRequestsPerSecond"] = "0";
            await using var second = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, environment);
            foreach (var id in ids)
            {
                var until = DateTime.UtcNow.AddSeconds(60);
                JsonElement video;
                while ((video = await second.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString() is not ("completed" or "failed"))
                {
                    Assert.True(DateTime.UtcNow < until, $"{id} did not finish after the restart");
                    await Task.Delay(100);
                }

                Assert.True(video.GetProperty("status").GetString() == "completed", video.ToString());
            }

            // One upstream task per job: the two caught at the upstream were adopted, the others were sent once.
            Assert.Equal(
                Enumerable.Range(0, 4).Select(i => $"submit crash {i}"),
                upstream.Tasks.All.Select(t => t.Prompt!).Order(StringComparer.Ordinal));
            Assert.Equal(4, upstream.Requests.Count(r => r is { Method: "POST", PathAndQuery: "/v1/videos" }));
            Assert.Contains(upstream.Requests, r => r.Method == "GET" && r.PathAndQuery.StartsWith("/v1/videos?order=desc", StringComparison.Ordinal));
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }
}
