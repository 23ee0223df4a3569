using System.Net.Http.Headers;
using Reelay.Bench.Support;

namespace Reelay.Bench;

/// <summary>
/// GET /v1/videos/{id} on the real gateway (auth, store read, JSON) against a bare Kestrel MapGet returning the very same
/// bytes, and nginx serving them as a static file when nginx is installed. wrk runs as a separate process; targets are
/// measured alternately, and each one's figure is the median over the rounds.
/// </summary>
internal static class StatusReadBenchmark
{
    private const string Name = "Status read throughput";
    private const double TargetRatio = 0.85;
    private const string Route = "/v1/videos/{id}";

    private sealed record Target(string Name, Uri Url)
    {
        public List<WrkResult> Rounds { get; } = [];

        public double Median => Report.Median(Rounds.Select(r => r.RequestsPerSecond).ToList());
    }

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        Report.Heading("1. Status read throughput: GET /v1/videos/{id}, Reelay vs bare Kestrel");
        if (Wrk.Find() is not { } wrk)
        {
            Report.Line("wrk is not installed (bench/run.sh installs it with apt-get).");
            Report.Skipped(Name, "wrk is not installed");
            return;
        }

        // The measured gateway is `reelay serve` with the settings a user gets from ./run.sh: its console log (one line per
        // request, read and dropped by this process as a log collector would) and its metrics (/metrics) on.
        using var serveData = TempDirectory.Create("reelay-bench-serve-");
        var serveKey = "rk_bench_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var serve = await ServeProcess.StartAsync(
            ServeProcess.DefaultDll, Path.Combine(serveData.Path, "data"), serveKey, new Dictionary<string, string> { ["Reelay__Sandbox__MaxConcurrentRenders"] = "1" }, cancellationToken, defaultLogging: true);
        var id = await CreateVideoAsync(serve.Http, cancellationToken);
        var path = $"/v1/videos/{id}";
        string body, contentType;
        using (var response = await serve.Http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken))
        {
            response.EnsureSuccessStatusCode();
            body = await response.Content.ReadAsStringAsync(cancellationToken);
            contentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
        }

        // Context: the same gateway in this process with its log turned down to Warning (the cost of the log is the difference).
        await using var gateway = await ReelayGateway.StartAsync(new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1", ["Reelay:AdminKey"] = serveKey }, cancellationToken);
        var quietId = await gateway.CreateVideoAsync("""{"model":"sandbox","prompt":"Status read benchmark","seconds":"1","size":"64x64"}""", cancellationToken);
        await gateway.WaitForCompletionAsync(quietId, TimeSpan.FromSeconds(60), cancellationToken);

        await using var bare = await BareKestrel.StartAsync(Route, body, contentType, cancellationToken);
        NginxServer? nginx = null;
        if (NginxServer.Find() is { } nginxPath)
        {
            try
            {
                nginx = await NginxServer.StartAsync(nginxPath, path, body, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                Report.Line($"nginx is installed but did not start, so it is left out: {ex.Message}");
            }
        }

        try
        {
            var targets = new List<Target>
            {
                new("bare Kestrel (MapGet, fixed string)", new Uri(bare.BaseAddress, path)),
                new("Reelay (reelay serve, defaults)", new Uri(serve.BaseAddress, path)),
            };
            if (nginx is not null)
            {
                targets.Add(new Target("nginx (static file)", new Uri(nginx.BaseAddress, path)));
            }

            await CheckSameAnswerAsync(targets, serveKey, body, cancellationToken);

            // Its answer differs only in the id and timestamps (same length), so it is checked on its own.
            var quiet = new Target("Reelay in-process, log at Warning", new Uri(gateway.BaseAddress, $"/v1/videos/{quietId}"));
            await CheckSameAnswerAsync([quiet], serveKey, await gateway.Http.GetStringAsync(new Uri($"/v1/videos/{quietId}", UriKind.Relative), cancellationToken), cancellationToken);
            targets.Add(quiet);

            Report.Line($"A completed sandbox video; every target answers the same {body.Length}-byte JSON ({contentType}).");
            Report.Line($"wrk -t{options.Threads} -c{options.Connections} with 'Authorization: Bearer <admin key>' (the baselines ignore it), on loopback.");
            Report.Line($"Warm-up {options.WarmupSeconds} s per target, then {options.Rounds} rounds of {options.DurationSeconds} s per target, alternating targets (order reversed every round).");
            if (options.WarmupSeconds > 0)
            {
                foreach (var target in targets)
                {
                    await Wrk.RunAsync(wrk, target.Url, serveKey, options.Threads, options.Connections, TimeSpan.FromSeconds(options.WarmupSeconds), cancellationToken);
                }
            }

            for (var round = 0; round < options.Rounds; round++)
            {
                var order = round % 2 == 0 ? targets : Enumerable.Reverse(targets).ToList();
                foreach (var target in order)
                {
                    target.Rounds.Add(await Wrk.RunAsync(wrk, target.Url, serveKey, options.Threads, options.Connections, TimeSpan.FromSeconds(options.DurationSeconds), cancellationToken));
                }
            }

            Report.Line();
            Report.Line($"{Report.Pad("target", 38)}{string.Concat(Enumerable.Range(1, options.Rounds).Select(r => Report.Pad($"round {r}", 12)))}{Report.Pad("median req/s", 14)}latency (avg per round)");
            foreach (var target in targets)
            {
                var errors = target.Rounds.Sum(r => r.SocketErrors);
                Report.Line(
                    Report.Pad(target.Name, 38)
                    + string.Concat(target.Rounds.Select(r => Report.Pad(Report.Count(r.RequestsPerSecond), 12)))
                    + Report.Pad(Report.Count(target.Median), 14)
                    + string.Join(", ", target.Rounds.Select(r => r.LatencyAverage))
                    + (errors > 0 ? $"  ({errors} socket errors)" : ""));
            }

            var baseline = targets[0].Median;
            var reelay = targets[1].Median;
            var ratio = reelay / baseline;
            Report.Line();
            Report.Result(Name, $"Reelay {Report.Count(reelay)} req/s", $"bare Kestrel {Report.Count(baseline)} req/s", ratio, $">= {TargetRatio:0.00}", ratio >= TargetRatio);
            var quietRps = targets.First(t => t == quiet).Median;
            Report.Result("Status read, log at Warning (context)", $"Reelay {Report.Count(quietRps)} req/s", $"bare Kestrel {Report.Count(baseline)} req/s", quietRps / baseline, "none", null);
            if (targets.Find(t => t.Name.StartsWith("nginx", StringComparison.Ordinal)) is { } nginxTarget)
            {
                var nginxRps = nginxTarget.Median;
                Report.Result("Status read vs nginx (context)", $"Reelay {Report.Count(reelay)} req/s", $"nginx {Report.Count(nginxRps)} req/s", reelay / nginxRps, "none", null);
            }
        }
        finally
        {
            if (nginx is not null)
            {
                await nginx.DisposeAsync();
            }
        }
    }

    /// <summary>POST /v1/videos (a 1 s 64x64 sandbox video) and wait until it is completed; returns its id.</summary>
    private static async Task<string> CreateVideoAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var content = new StringContent("""{"model":"sandbox","prompt":"Status read benchmark","seconds":"1","size":"64x64"}""", System.Text.Encoding.UTF8, "application/json");
        using var created = await http.PostAsync(new Uri("/v1/videos", UriKind.Relative), content, cancellationToken);
        var answer = await created.Content.ReadAsStringAsync(cancellationToken);
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/videos answered {(int)created.StatusCode}: {answer}");
        }

        string id;
        using (var document = System.Text.Json.JsonDocument.Parse(answer))
        {
            id = document.RootElement.GetProperty("id").GetString()!;
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var body = await http.GetStringAsync(new Uri($"/v1/videos/{id}", UriKind.Relative), cancellationToken);
            using var document = System.Text.Json.JsonDocument.Parse(body);
            var status = document.RootElement.GetProperty("status").GetString();
            if (status == "completed")
            {
                return id;
            }

            if (status == "failed" || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Video {id} did not complete (is ffmpeg installed?): {body}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>One request per target before measuring: each must answer 200 with the same body, or the comparison means nothing.</summary>
    private static async Task CheckSameAnswerAsync(List<Target> targets, string apiKey, string body, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        foreach (var target in targets)
        {
            using var response = await http.GetAsync(target.Url, cancellationToken);
            var answer = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode || answer != body)
            {
                throw new InvalidOperationException($"{target.Name} at {target.Url} answered {(int)response.StatusCode} with a different body: {answer}");
            }
        }
    }
}
