using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

/// <summary>The gateway as its own process (`reelay serve`), killed without warning and started again.</summary>
public sealed partial class CrashRecoveryTests
{
    internal sealed class ServeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output;

        private ServeProcess(Process process, Uri baseAddress, string key, StringBuilder output)
        {
            _process = process;
            _output = output;
            Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        public HttpClient Http { get; }

        public static async Task<ServeProcess> StartAsync(string data, string key, IReadOnlyDictionary<string, string>? environment = null)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Reelay.Cli.dll"), "serve", "--urls", "http://127.0.0.1:0", "--data", data })
            {
                psi.ArgumentList.Add(arg);
            }

            psi.Environment["REELAY_ADMIN_KEY"] = key;
            psi.Environment["Reelay__Sandbox__MaxConcurrentRenders"] = "1";
            psi.Environment["Logging__LogLevel__Default"] = "Warning";
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                psi.Environment[name] = value;
            }
            var process = Process.Start(psi)!;
            var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }

                if (e.Data is not null && ReadyLine().Match(e.Data) is { Success: true } m)
                {
                    ready.TrySetResult(new Uri(m.Groups[1].Value));
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var address = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
                return new ServeProcess(process, address, key, output);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException("reelay serve did not get ready: " + output);
            }
        }

        /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>SIGTERM, as a service manager or an orchestrator stops the gateway.</summary>
        public void Terminate()
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }

        /// <summary>Waits for the process to exit by itself; its exit code.</summary>
        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return _process.ExitCode;
        }

        /// <summary>SIGKILL the gateway only, as a crash would (its ffmpeg child is orphaned, not stopped).</summary>
        public void Crash()
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }

    [GeneratedRegex(@"Reelay is ready on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ReadyLine();

    [Fact]
    public async Task Serve_KilledMidRender_JobsContinueAfterRestartAndFinishPlayable()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-crash-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        try
        {
            var ids = new List<string>();
            await using (var first = await ServeProcess.StartAsync(data, key))
            {
                for (var i = 0; i < 2; i++)
                {
                    using var response = await first.Http.PostAsync("/v1/videos", new StringContent($$"""{"model":"sandbox","prompt":"crash {{i}}","seconds":"6","size":"1280x720"}""", Encoding.UTF8, "application/json"));
                    Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                    ids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
                }

                var until = DateTime.UtcNow.AddSeconds(60);
                while ((await first.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{ids[0]}")).GetProperty("status").GetString() != "in_progress")
                {
                    Assert.True(DateTime.UtcNow < until, "the first job never started");
                    await Task.Delay(50);
                }

                first.Crash();
            }

            await using var second = await ServeProcess.StartAsync(data, key);
            foreach (var id in ids)
            {
                var until = DateTime.UtcNow.AddSeconds(120);
                JsonElement video;
                while ((video = await second.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString() is not ("completed" or "failed"))
                {
                    Assert.True(DateTime.UtcNow < until, $"{id} did not finish after the restart");
                    await Task.Delay(100);
                }

                Assert.Equal("completed", video.GetProperty("status").GetString());
                var path = Path.Combine(data, id + ".check.mp4");
                await File.WriteAllBytesAsync(path, await second.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
                var probe = await TestFiles.FfprobeAsync(path, "stream=width,height:format=duration");
                Assert.Contains("width=1280", probe, StringComparison.Ordinal);
                Assert.Contains("duration=6.0", probe, StringComparison.Ordinal);
            }
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task Serve_KilledBetweenHoldAndSettle_BooksBalanceAfterRestart()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-crash-money-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        var pricing = new Dictionary<string, string> { ["Reelay__Pricing__sandbox__*"] = "0.01" };
        try
        {
            string keyId, secret;
            var ids = new List<string>();
            await using (var first = await ServeProcess.StartAsync(data, key, pricing))
            {
                using var created = await first.Http.PostAsync("/admin/keys", new StringContent("""{"name":"crash","budget_usd":1}""", Encoding.UTF8, "application/json"));
                var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
                (keyId, secret) = (body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
                using var client = new HttpClient { BaseAddress = first.Http.BaseAddress };
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
                for (var i = 0; i < 2; i++)
                {
                    using var response = await client.PostAsync("/v1/videos", new StringContent($$"""{"model":"sandbox","prompt":"paid {{i}}","seconds":"6","size":"1280x720"}""", Encoding.UTF8, "application/json"));
                    Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                    ids.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
                }

                var held = await first.Http.GetFromJsonAsync<JsonElement>($"/admin/keys/{keyId}");
                Assert.Equal((0.12m, 0m), (held.GetProperty("held_usd").GetDecimal(), held.GetProperty("spent_usd").GetDecimal()));
                var until = DateTime.UtcNow.AddSeconds(60);
                while ((await first.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{ids[0]}")).GetProperty("status").GetString() != "in_progress")
                {
                    Assert.True(DateTime.UtcNow < until, "the first job never started");
                    await Task.Delay(50);
                }

                first.Crash();
            }

            await using var second = await ServeProcess.StartAsync(data, key, pricing);
            var deadline = DateTime.UtcNow.AddSeconds(180);
            JsonElement books;
            while (true)
            {
                books = await second.Http.GetFromJsonAsync<JsonElement>($"/admin/keys/{keyId}");
                if (books.GetProperty("jobs_in_flight").GetInt32() == 0)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the jobs' charges never closed after the restart: " + books);
                await Task.Delay(200);
            }

            var charges = (await second.Http.GetFromJsonAsync<JsonElement>($"/admin/charges?key_id={keyId}")).GetProperty("data").EnumerateArray().ToList();
            Assert.Equal(ids.Order(), charges.Select(c => c.GetProperty("job_id").GetString()!).Order());
            Assert.All(charges, c => Assert.Equal("settled", c.GetProperty("state").GetString()));
            var spent = books.GetProperty("spent_usd").GetDecimal();
            Assert.Equal(charges.Sum(c => c.GetProperty("charged_usd").GetDecimal()), spent);
            Assert.InRange(spent, 0.11m, 0.12m);
            Assert.Equal(0m, books.GetProperty("held_usd").GetDecimal());
            Assert.Equal(1m, spent + books.GetProperty("available_usd").GetDecimal());
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }
}
