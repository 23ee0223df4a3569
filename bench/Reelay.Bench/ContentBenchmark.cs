using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Bench.Support;
using Reelay.Results;

namespace Reelay.Bench;

/// <summary>
/// GET /v1/videos/{id}/content for a small (224 KiB) and a large (13 MiB) result: Reelay sending the bytes itself
/// (auth, job read, validators, sendfile) and Reelay behind nginx with Reelay:Content:Offload=x-accel-redirect (Reelay
/// authorises, nginx sends), each against nginx serving the same file alone (sendfile), in the same run, with wrk.
/// </summary>
internal static class ContentBenchmark
{
    private static readonly (string Name, int Bytes, double Target)[] Sizes = [("224 KiB", 224 * 1024, 0.60), ("13 MiB", 13 * 1024 * 1024, 0.90)];
    private const double OffloadTarget = 0.90;

    private sealed record Target(string Name, Uri Url)
    {
        public List<WrkResult> Rounds { get; } = [];

        public double Median => Report.Median(Rounds.Select(r => r.RequestsPerSecond).ToList());
    }

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        Report.Heading("6. Content: GET /v1/videos/{id}/content, Reelay and Reelay behind nginx (X-Accel-Redirect) vs nginx alone");
        if (Wrk.Find() is not { } wrk || NginxServer.Find() is not { } nginxPath)
        {
            Report.Line("wrk and nginx are needed (bench/run.sh installs both with apt-get).");
            Report.Skipped("Content", "wrk or nginx is not installed");
            return;
        }

        await using var direct = await ReelayGateway.StartAsync(new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1" }, cancellationToken);
        await using var offload = await ReelayGateway.StartAsync(new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1", ["Reelay:Content:Offload"] = "x-accel-redirect" }, cancellationToken);
        var directId = await CompletedAsync(direct, cancellationToken);
        var offloadId = await CompletedAsync(offload, cancellationToken);
        var offloadRoot = ((LocalResultStore)offload.Services.GetRequiredService<IResultStore>()).RootPath;
        using var www = TempDirectory.Create("reelay-bench-content-");
        await using var nginx = await NginxServer.StartWithServerAsync(nginxPath, $$"""
            types { video/mp4 mp4; }
            location /static/ { alias {{www.Path}}/; }
            location /v1/ { proxy_pass http://reelay; proxy_set_header Host $host; proxy_http_version 1.1; proxy_set_header Connection ""; }
            location /_reelay_files/ { internal; alias {{offloadRoot}}/; }
            """, cancellationToken,
            // Connections to Reelay kept open (as docs/operations.md recommends): without an upstream block with
            // keepalive, nginx opens a new TCP connection to Reelay for every request.
            http: $"upstream reelay {{ server {offload.BaseAddress.Authority}; keepalive 64; }}");

        Report.Line($"wrk -t{options.Threads} -c{options.Connections} with 'Authorization: Bearer <admin key>' (nginx alone ignores it), on loopback.");
        Report.Line($"Warm-up {options.WarmupSeconds} s per target, then {options.Rounds} rounds of {options.DurationSeconds} s per target, alternating targets (order reversed every round).");
        Report.Line("Each size: the same random bytes stored as both jobs' video (through IResultStore, so with their SHA-256 record) and as nginx's static file.");
        foreach (var (name, size, target) in Sizes)
        {
            var bytes = RandomNumberGenerator.GetBytes(size);
            foreach (var gateway in new[] { (direct, directId), (offload, offloadId) })
            {
                using var stream = new MemoryStream(bytes, writable: false);
                await gateway.Item1.Services.GetRequiredService<IResultStore>().PutAsync($"videos/{gateway.Item2}.mp4", stream, "video/mp4", cancellationToken);
            }

            var file = $"content-{size}.mp4";
            await File.WriteAllBytesAsync(Path.Combine(www.Path, file), bytes, cancellationToken);
            var targets = new List<Target>
            {
                new($"nginx alone (static file, {name})", new Uri(nginx.BaseAddress, "/static/" + file)),
                new($"Reelay ({name})", new Uri(direct.BaseAddress, $"/v1/videos/{directId}/content")),
                new($"nginx + Reelay X-Accel ({name})", new Uri(nginx.BaseAddress, $"/v1/videos/{offloadId}/content")),
            };
            await CheckSameBytesAsync(targets, direct.ApiKey, offload.ApiKey, bytes, cancellationToken);
            await MeasureAsync(wrk, targets, t => t.Name.StartsWith("nginx +", StringComparison.Ordinal) ? offload.ApiKey : direct.ApiKey, options, cancellationToken);

            var baseline = targets[0].Median;
            Report.Result($"Content {name} vs nginx", $"Reelay {Report.Count(targets[1].Median)} req/s", $"nginx {Report.Count(baseline)} req/s", targets[1].Median / baseline, $">= {target:0.00}", targets[1].Median / baseline >= target);
            Report.Result($"Content {name} via nginx X-Accel-Redirect vs nginx", $"{Report.Count(targets[2].Median)} req/s", $"nginx {Report.Count(baseline)} req/s", targets[2].Median / baseline, $">= {OffloadTarget:0.00}", targets[2].Median / baseline >= OffloadTarget);
        }
    }

    private static async Task<string> CompletedAsync(ReelayGateway gateway, CancellationToken cancellationToken)
    {
        var id = await gateway.CreateVideoAsync("""{"model":"sandbox","prompt":"Content benchmark","seconds":"1","size":"64x64"}""", cancellationToken);
        await gateway.WaitForCompletionAsync(id, TimeSpan.FromSeconds(60), cancellationToken);
        return id;
    }

    private static async Task MeasureAsync(string wrk, List<Target> targets, Func<Target, string> key, BenchOptions options, CancellationToken cancellationToken)
    {
        if (options.WarmupSeconds > 0)
        {
            foreach (var target in targets)
            {
                await Wrk.RunAsync(wrk, target.Url, key(target), options.Threads, options.Connections, TimeSpan.FromSeconds(options.WarmupSeconds), cancellationToken);
            }
        }

        for (var round = 0; round < options.Rounds; round++)
        {
            foreach (var target in round % 2 == 0 ? targets : Enumerable.Reverse(targets).ToList())
            {
                target.Rounds.Add(await Wrk.RunAsync(wrk, target.Url, key(target), options.Threads, options.Connections, TimeSpan.FromSeconds(options.DurationSeconds), cancellationToken));
            }
        }

        Report.Line();
        Report.Line($"{Report.Pad("target", 40)}{string.Concat(Enumerable.Range(1, options.Rounds).Select(r => Report.Pad($"round {r}", 12)))}{Report.Pad("median req/s", 14)}latency (avg per round)");
        foreach (var target in targets)
        {
            Report.Line(Report.Pad(target.Name, 40)
                + string.Concat(target.Rounds.Select(r => Report.Pad(Report.Count(r.RequestsPerSecond), 12)))
                + Report.Pad(Report.Count(target.Median), 14)
                + string.Join(", ", target.Rounds.Select(r => r.LatencyAverage)));
        }

        Report.Line();
    }

    /// <summary>One request per target before measuring: each must answer 200 with exactly the stored bytes.</summary>
    private static async Task CheckSameBytesAsync(List<Target> targets, string directKey, string offloadKey, byte[] bytes, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var target in targets)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target.Url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.Name.StartsWith("nginx +", StringComparison.Ordinal) ? offloadKey : directKey);
            using var response = await http.SendAsync(request, cancellationToken);
            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode || !answer.AsSpan().SequenceEqual(bytes))
            {
                throw new InvalidOperationException($"{target.Name} at {target.Url} answered {(int)response.StatusCode} with {answer.Length} bytes, not the {bytes.Length} stored.");
            }
        }
    }
}
