using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Reelay.Server.Tests.Telemetry;

/// <summary>The console log of a real `reelay serve` process with default settings, in text and in JSON mode.</summary>
public sealed partial class RequestLogTests
{
    [Fact]
    public async Task Serve_DefaultText_OneTimestampedLinePerRequestWithoutSecretsOrPrompt()
    {
        var prompt = "prompt-marker-" + Guid.NewGuid().ToString("N");
        await using var serve = await Serve.StartAsync(json: false);
        var (requests, id) = await RunRequestsAsync(serve, prompt);
        var (stdout, stderr) = await serve.StopAsync();

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var requestLines = lines.Where(l => l.Contains("Reelay.Requests[2900]", StringComparison.Ordinal)).ToList();
        Assert.Equal(requests, requestLines.Count);
        Assert.All(requestLines, l => Assert.Matches(TimestampPrefix(), l));
        Assert.Contains(requestLines, l => l.Contains($"POST /v1/videos 200", StringComparison.Ordinal) && l.Contains($"key=admin job={id}", StringComparison.Ordinal));
        Assert.Contains(requestLines, l => l.Contains("GET /v1/videos/{id} 200", StringComparison.Ordinal) && l.Contains($"job={id}", StringComparison.Ordinal));
        Assert.Contains(requestLines, l => l.Contains("GET /v1/videos/{id} 401", StringComparison.Ordinal) && l.Contains("key=-", StringComparison.Ordinal));
        Assert.Contains(requestLines, l => l.Contains("GET /v1/models 200", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Microsoft.AspNetCore", StringComparison.Ordinal) && !l.Contains("warn", StringComparison.Ordinal) && !l.Contains("fail", StringComparison.Ordinal));
        Assert.Contains("Reelay is ready on", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(serve.Key, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(prompt, stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_JsonMode_EveryStdoutLineIsJsonAndOnePerRequest()
    {
        var prompt = "prompt-marker-" + Guid.NewGuid().ToString("N");
        await using var serve = await Serve.StartAsync(json: true);
        var (requests, id) = await RunRequestsAsync(serve, prompt);
        var (stdout, stderr) = await serve.StopAsync();

        var entries = new List<JsonElement>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var document = JsonDocument.Parse(line); // throws on any raw text
            entries.Add(document.RootElement.Clone());
        }

        Assert.All(entries, e => Assert.True(DateTimeOffset.TryParse(e.GetProperty("Timestamp").GetString(), out _)));
        var requestEntries = entries.Where(e => e.GetProperty("Category").GetString() == "Reelay.Requests").ToList();
        Assert.Equal(requests, requestEntries.Count);
        Assert.Contains(requestEntries, e => e.GetProperty("State").GetProperty("Route").GetString() == "/v1/videos/{id}"
            && e.GetProperty("State").GetProperty("JobId").GetString() == id
            && e.GetProperty("State").GetProperty("KeyId").GetString() == "admin");
        Assert.Contains(entries, e => e.GetProperty("EventId").GetInt32() == 2001); // the ready line is a log entry
        Assert.Contains("Reelay is ready on", stderr, StringComparison.Ordinal); // the banner went to stderr
        Assert.DoesNotContain(serve.Key, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(prompt, stdout + stderr, StringComparison.Ordinal);
    }

    /// <summary>A submit, status reads until completed, a model list and an unauthenticated read; returns how many requests and the job id.</summary>
    private static async Task<(int Requests, string Id)> RunRequestsAsync(Serve serve, string prompt)
    {
        var requests = 0;
        using var submit = await serve.Http.PostAsync("/v1/videos", new StringContent(JsonSerializer.Serialize(new { model = "sandbox", prompt, seconds = "1", size = "64x64" }), Encoding.UTF8, "application/json"));
        requests++;
        var body = await submit.Content.ReadAsStringAsync();
        Assert.True(submit.IsSuccessStatusCode, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = JsonDocument.Parse(await serve.Http.GetStringAsync($"/v1/videos/{id}")).RootElement.GetProperty("status").GetString();
            requests++;
            if (status is "completed" or "failed" || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Equal("completed", status);
                break;
            }

            await Task.Delay(200);
        }

        using (var models = await serve.Http.GetAsync("/v1/models"))
        {
            requests++;
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = serve.BaseAddress };
        using (var denied = await anonymous.GetAsync($"/v1/videos/{id}"))
        {
            requests++;
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        }

        return (requests, id);
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")]
    private static partial Regex TimestampPrefix();

    [GeneratedRegex(@"Reelay is ready on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ReadyLine();

    /// <summary>`reelay serve` as its own process with default logging; stopped with SIGTERM so its log is flushed.</summary>
    private sealed class Serve : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly string _data;

        private Serve(Process process, string data, string key)
        {
            _process = process;
            _data = data;
            Key = key;
            Http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        }

        public string Key { get; }

        public Uri BaseAddress { get; private set; } = null!;

        public HttpClient Http { get; }

        public static async Task<Serve> StartAsync(bool json)
        {
            var data = Path.Combine(Path.GetTempPath(), "reelay-log-test-" + Guid.NewGuid().ToString("N"));
            var key = "rk_test_" + Guid.NewGuid().ToString("N");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Reelay.Cli.dll"), "serve", "--urls", "http://127.0.0.1:0", "--data", data })
            {
                psi.ArgumentList.Add(arg);
            }

            psi.Environment["REELAY_ADMIN_KEY"] = key;
            psi.Environment["Reelay__Sandbox__Preset"] = "ultrafast";
            if (json)
            {
                psi.Environment["Reelay__Logging__Format"] = "json";
            }

            var serve = new Serve(Process.Start(psi)!, data, key);
            var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnLine(StringBuilder into, string? line)
            {
                if (line is null)
                {
                    return;
                }

                lock (into)
                {
                    into.Append(line).Append('\n');
                }

                if (ReadyLine().Match(line) is { Success: true } m)
                {
                    ready.TrySetResult(new Uri(m.Groups[1].Value));
                }
            }

            serve._process.OutputDataReceived += (_, e) => OnLine(serve._stdout, e.Data);
            serve._process.ErrorDataReceived += (_, e) => OnLine(serve._stderr, e.Data);
            serve._process.BeginOutputReadLine();
            serve._process.BeginErrorReadLine();
            try
            {
                serve.BaseAddress = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (TimeoutException)
            {
                await serve.DisposeAsync();
                throw new InvalidOperationException($"reelay serve did not get ready: {serve._stdout}{serve._stderr}");
            }

            serve.Http.BaseAddress = serve.BaseAddress;
            serve.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return serve;
        }

        /// <summary>SIGTERM, then everything the process wrote.</summary>
        public async Task<(string Stdout, string Stderr)> StopAsync()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
            _process.WaitForExit(); // drains the redirected streams
            lock (_stdout)
            {
                lock (_stderr)
                {
                    return (_stdout.ToString(), _stderr.ToString());
                }
            }
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
            try
            {
                Directory.Delete(_data, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
