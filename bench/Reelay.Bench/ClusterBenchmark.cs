using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Reelay.Bench.Support;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>
/// Several `reelay serve` nodes on one private PostgreSQL (initdb in a temp folder) with the ModelVerse EMULATOR as the
/// upstream: poll lateness with many jobs spread over the nodes (the reelay.poll.lateness histogram of every node's
/// /metrics), status-read throughput of all nodes together against one node on the same database (wrk, one per node at
/// once), and takeover time after SIGKILL (from the kill until no unfinished job is held by the dead node, read from the
/// job_claims table), p50 and max over several kills (each killed node is started again before the next kill).
/// </summary>
internal static partial class ClusterBenchmark
{
    private const double TakeoverTargetSeconds = 10;

    public static async Task RunAsync(BenchOptions options, CancellationToken ct)
    {
        Report.Heading($"Cluster: {options.ClusterNodes} nodes on one PostgreSQL, ModelVerse EMULATOR upstream");
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var upstream = new ModelVerseEmulator(new EmulatorOptions
        {
            ApiKey = "mv-bench-cluster-0123456789",
            QueueTime = TimeSpan.FromMilliseconds(500),
            RunTime = TimeSpan.FromSeconds(options.ClusterRunSeconds),
            // A flat picture of a few KiB per result instead of the 3 MB test pattern: 10,000 stored results would
            // otherwise be 30 GB of copying on a machine whose two cores also run the nodes and the database.
            FlatVideos = true,
        });
        upstream.RecordRequests = false;
        await upstream.StartAsync(cancellationToken: ct);
        using var temp = TempDirectory.Create("reelay-bench-cluster-");
        var key = "rk_bench_" + Guid.NewGuid().ToString("N");
        var dll = options.ServeDll ?? ServeProcess.DefaultDll;
        Dictionary<string, string> Environment(int i)
        {
            var environment = BaseEnvironment(i);
            if (options.ClusterPollSeconds is { } poll)
            {
                environment["Reelay__Providers__mv__PollInterval"] = TimeSpan.FromSeconds(poll).ToString("c", CultureInfo.InvariantCulture);
                environment["Reelay__Providers__mv__MaxPollInterval"] = TimeSpan.FromSeconds(2 * poll).ToString("c", CultureInfo.InvariantCulture);
            }

            return environment;
        }

        Dictionary<string, string> BaseEnvironment(int i) => new()
        {
            ["Reelay__Store__Provider"] = "postgres",
            ["Reelay__Store__ConnectionString"] = database.ConnectionString,
            ["Reelay__Engine__NodeId"] = $"node-{i}",
            ["Reelay__Storage__LocalPath"] = Path.Combine(temp.Path, "results"),
            ["Reelay__Providers__mv__Type"] = "modelverse",
            ["Reelay__Providers__mv__BaseUrl"] = upstream.BaseUrl.AbsoluteUri,
            ["Reelay__Providers__mv__ApiKey"] = upstream.Options.ApiKey,
            ["Reelay__Providers__mv__MaxConcurrentJobs"] = options.ClusterJobs.ToString(CultureInfo.InvariantCulture),
            ["Reelay__Providers__mv__MaxRequestsPerSecond"] = "0",
            ["Reelay__Routes__sora-2__0__Provider"] = "mv",
            // No spritesheet and no thumbnail per result: ffmpeg's finalize work (measured in section 4) would otherwise be
            // most of two cores' time at this scale (about 1.5 results a second), and the poll lateness would measure ffmpeg;
            // ffprobe still checks every result.
            ["Reelay__Storage__Spritesheet"] = "false",
            ["Reelay__Storage__Thumbnails"] = "false",
            ["Reelay__Limits__MaxRequestBodyBytes"] = "1048576",
        };
        Task<ServeProcess> Start(int i) => ServeProcess.StartAsync(dll, Path.Combine(temp.Path, $"node{i}"), key, Environment(i), ct);

        var nodes = await Task.WhenAll(Enumerable.Range(0, options.ClusterNodes).Select(Start));
        var evidence = new ClusterEvidence(options.ClusterLogs);
        var retried = new StrongBox<int>();
        try
        {
            // 1. Poll lateness: the jobs spread round robin, all running upstream at once.
            var submitted = Stopwatch.StartNew();
            var ids = await SubmitAsync(nodes, options.ClusterJobs, "lateness", evidence, retried, ct);
            Report.Line($"Submitted {Report.Count(ids.Count)} jobs over {nodes.Length} nodes in {submitted.Elapsed.TotalSeconds:0.0} s"
                + (retried.Value > 0 ? $" ({Report.Count(retried.Value)} submits answered 503 and retried after Retry-After with the same Idempotency-Key)." : "."));
            var ended = await WaitEndedAsync(nodes, ids, TimeSpan.FromMinutes(options.ClusterWaitMinutes), evidence, ct);
            var (polls, p50, p99) = await LatenessAsync(nodes, ct);
            Report.Line($"{Report.Count(ended.Completed)} completed, {Report.Count(ended.Failed)} failed, {Report.Count(ids.Count - ended.Completed - ended.Failed)} unfinished after {submitted.Elapsed.TotalSeconds:0} s.");
            if (ended.FailedBy.Count > 0)
            {
                // A failed job is a finding, not noise: say which error codes ended them.
                Report.Line("  failed by error code: " + string.Join(", ", ended.FailedBy.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {Report.Count(p.Value)}")));
                foreach (var sample in ended.FailedSamples)
                {
                    Report.Line("  e.g. " + sample);
                }
            }

            // Completed must mean the video is there: every completed job's content is read back, round robin over the
            // nodes (a double finalization once deleted results that the store still called completed).
            var (present, missing) = await VerifyContentAsync(nodes, ended.CompletedIds, ct);
            Report.Line($"Content of completed jobs: {Report.Count(present)} readable, {Report.Count(missing.Count)} missing"
                + (missing.Count > 0 ? " (e.g. " + string.Join("; ", missing.Take(5)) + ")." : "."));

            Report.Line($"Polls answered: {Report.Count(polls)}; lateness p50 <= {Report.Ms(p50 * 1000)}, p99 <= {Report.Ms(p99 * 1000)} (histogram bucket bounds, all nodes).");
            Report.Result($"Cluster poll lateness at p99 ({ids.Count} jobs, {nodes.Length} nodes)", Report.Ms(p99 * 1000), "target 1000 ms", p99, "<= 1000 ms", p99 <= 1);

            // 2. Status reads: one node alone, then every node at once (one wrk each), same job, same connections in all.
            var wrk = Wrk.Find();
            if (wrk is null)
            {
                Report.Skipped("Cluster status reads", "wrk is not installed");
            }
            else
            {
                var path = $"v1/videos/{ids[0]}";
                var duration = TimeSpan.FromSeconds(options.DurationSeconds);
                var connections = Math.Max(nodes.Length, options.Connections);
                var one = await Wrk.RunAsync(wrk, new Uri(nodes[0].BaseAddress, path), key, options.Threads, connections, duration, ct);
                var all = await Task.WhenAll(nodes.Select(n => Wrk.RunAsync(wrk, new Uri(n.BaseAddress, path), key, 1, Math.Max(1, connections / nodes.Length), duration, ct)));
                var together = all.Sum(r => r.RequestsPerSecond);
                Report.Line($"Status reads: one node {Report.Count(one.RequestsPerSecond)}/s; {nodes.Length} nodes together {Report.Count(together)}/s ({string.Join(" + ", all.Select(r => Report.Count(r.RequestsPerSecond)))}).");
                Report.Result($"Cluster status reads, {nodes.Length} nodes vs 1", $"{Report.Count(together)}/s", $"{Report.Count(one.RequestsPerSecond)}/s", together / one.RequestsPerSecond, "informational (one machine's cores are shared)", null);
            }

            // 3. Takeover after SIGKILL, several times, a different node each time.
            var takeovers = new List<double>();
            for (var kill = 0; kill < options.ClusterKills; kill++)
            {
                var victim = kill % nodes.Length;
                var jobs = await SubmitAsync([nodes[victim]], Math.Max(1, options.ClusterKillJobs), $"kill {kill}", evidence, retried, ct);
                var node = $"node-{victim}";
                var until = Stopwatch.StartNew();
                while (await CountAsync(database.ConnectionString, $"SELECT count(*) FROM job_claims WHERE holder = '{node}'", ct) < jobs.Count)
                {
                    if (until.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new InvalidOperationException($"{node} did not claim its {jobs.Count} jobs");
                    }

                    ThrowOnExit(nodes, evidence);

                    await Task.Delay(50, ct);
                }

                var killed = Stopwatch.StartNew();
                nodes[victim].Kill();
                var orphans = "SELECT count(*) FROM job_claims c JOIN jobs j ON j.id = c.job_id WHERE j.status IN ('queued', 'submitting', 'running') "
                    + $"AND (c.holder IS NULL OR c.holder = '{node}')";
                while (await CountAsync(database.ConnectionString, orphans, ct) > 0)
                {
                    if (killed.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new InvalidOperationException($"{node}'s jobs were not taken over within 60 s");
                    }

                    await Task.Delay(50, ct);
                }

                takeovers.Add(killed.Elapsed.TotalSeconds);
                Report.Line($"Kill {kill + 1}: {node} (holding {jobs.Count} jobs) taken over in {killed.Elapsed.TotalSeconds:0.00} s.");
                evidence.Retire(node, nodes[victim]);
                await nodes[victim].DisposeAsync();
                nodes[victim] = await Start(victim);
            }

            if (takeovers.Count > 0)
            {
                var sorted = takeovers.Order().ToArray();
                var median = Report.Percentile(sorted, 50);
                Report.Line($"Takeover over {sorted.Length} kills: p50 {median:0.00} s, max {sorted[^1]:0.00} s.");
                Report.Result($"Cluster takeover after SIGKILL, max of {sorted.Length}", $"{sorted[^1]:0.00} s", $"p50 {median:0.00} s", sorted[^1] / TakeoverTargetSeconds, $"<= {TakeoverTargetSeconds:0} s", sorted[^1] <= TakeoverTargetSeconds);
            }
        }
        finally
        {
            // Before the nodes and the temporary folder go: their logs, if a 5xx or an exit needs explaining.
            evidence.SaveIfNeeded(nodes, database.Cluster.ServerLogPath);
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>Stops the run when a node exited without the benchmark stopping it (its log is kept).</summary>
    private static void ThrowOnExit(ServeProcess[] nodes, ClusterEvidence evidence)
    {
        for (var i = 0; i < nodes.Length; i++)
        {
            if (nodes[i].ExitedUnexpectedly)
            {
                evidence.CheckExits(nodes);
                throw new InvalidOperationException($"node-{i} (pid {nodes[i].Id}) exited on its own with code {nodes[i].ExitCode}.");
            }
        }
    }

    /// <summary>
    /// Submits <paramref name="count"/> jobs round robin over <paramref name="nodes"/>, 32 at a time, each with its own
    /// Idempotency-Key. A 503 (a node's store briefly unavailable) is retried after its Retry-After with the same key, as
    /// a client should, at most 5 times; any other refusal stops the run. Every 5xx is noted for the logs.
    /// </summary>
    private static async Task<List<string>> SubmitAsync(ServeProcess[] nodes, int count, string label, ClusterEvidence evidence, StrongBox<int> retried, CancellationToken ct)
    {
        var ids = new string[count];
        var next = -1;
        var run = Guid.NewGuid().ToString("N")[..12];
        await Task.WhenAll(Enumerable.Range(0, Math.Min(32, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var index = i % nodes.Length;
                var node = nodes[index];
                var key = $"bench-{run}-{label.Replace(' ', '-')}-{i}";
                for (var attempt = 1; ; attempt++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "v1/videos")
                    {
                        Content = new StringContent($$"""{"model":"sora-2","prompt":"{{label}} {{i}}","seconds":"4","size":"720x1280"}""", Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Add("Idempotency-Key", key);
                    HttpResponseMessage response;
                    try
                    {
                        response = await node.Http.SendAsync(request, ct);
                    }
                    catch (HttpRequestException) when (node.ExitedUnexpectedly)
                    {
                        ThrowOnExit(nodes, evidence);
                        throw;
                    }

                    using (response)
                    {
                        var text = await response.Content.ReadAsStringAsync(ct);
                        if (response.IsSuccessStatusCode)
                        {
                            ids[i] = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
                            break;
                        }

                        var status = (int)response.StatusCode;
                        if (status >= 500)
                        {
                            evidence.Note($"submit {key} (attempt {attempt}) to node-{index} answered {status}: {ClusterEvidence.Excerpt(text)}");
                        }

                        if (status == 503 && attempt < 5 && response.Headers.RetryAfter?.Delta is { } wait)
                        {
                            Interlocked.Increment(ref retried.Value);
                            await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(wait.TotalSeconds, 0.1, 10)), ct);
                            continue;
                        }

                        throw new InvalidOperationException($"submit refused: {status} {text}");
                    }
                }
            }
        }));
        return [.. ids];
    }

    private static async Task<(int Completed, int Failed, Dictionary<string, int> FailedBy, List<string> CompletedIds, List<string> FailedSamples)> WaitEndedAsync(ServeProcess[] nodes, List<string> ids, TimeSpan timeout, ClusterEvidence evidence, CancellationToken ct)
    {
        var node = nodes[0];
        var waited = Stopwatch.StartNew();
        while (true)
        {
            ThrowOnExit(nodes, evidence);
            int completed = 0, failed = 0;
            var failedBy = new Dictionary<string, int>(StringComparer.Ordinal);
            var completedIds = new List<string>();
            var failedSamples = new List<string>();
            var after = (string?)null;
            do
            {
                var page = await node.Http.GetFromJsonAsync<JsonElement>($"v1/videos?limit=100&order=asc{(after is null ? "" : "&after=" + after)}", ct);
                foreach (var video in page.GetProperty("data").EnumerateArray())
                {
                    switch (video.GetProperty("status").GetString())
                    {
                        case "completed":
                            completed++;
                            completedIds.Add(video.GetProperty("id").GetString()!);
                            break;
                        case "failed":
                            failed++;
                            var code = video.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c)
                                ? c.GetString() ?? "none"
                                : "none";
                            failedBy[code] = failedBy.GetValueOrDefault(code) + 1;
                            if (failedSamples.Count < 5)
                            {
                                failedSamples.Add($"{video.GetProperty("id").GetString()}: {(error.ValueKind == JsonValueKind.Object ? error.GetRawText() : "no error object")}");
                            }

                            break;
                    }

                    after = video.GetProperty("id").GetString();
                }

                if (!page.GetProperty("has_more").GetBoolean())
                {
                    after = null;
                }
            }
            while (after is not null);

            if (completed + failed >= ids.Count || waited.Elapsed > timeout)
            {
                return (completed, failed, failedBy, completedIds, failedSamples);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }
    }

    /// <summary>Reads every listed job's content from the nodes in turn, 16 at a time: how many answered 200 with bytes, and which did not.</summary>
    private static async Task<(int Present, List<string> Missing)> VerifyContentAsync(ServeProcess[] nodes, List<string> ids, CancellationToken ct)
    {
        var present = 0;
        var missing = new List<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(16, ids.Count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Count)
            {
                using var response = await nodes[i % nodes.Length].Http.GetAsync($"v1/videos/{ids[i]}/content", ct);
                var bytes = await response.Content.ReadAsByteArrayAsync(ct);
                if (response.IsSuccessStatusCode && bytes.Length > 0)
                {
                    Interlocked.Increment(ref present);
                }
                else
                {
                    lock (missing)
                    {
                        missing.Add($"{ids[i]} {(int)response.StatusCode}");
                    }
                }
            }
        }));
        return (present, missing);
    }

    /// <summary>The reelay.poll.lateness histogram summed over every node's /metrics: polls, and the bucket bounds holding p50 and p99.</summary>
    private static async Task<(long Polls, double P50, double P99)> LatenessAsync(ServeProcess[] nodes, CancellationToken ct)
    {
        var buckets = new SortedDictionary<double, long>();
        foreach (var node in nodes)
        {
            var text = await node.Http.GetStringAsync("metrics", ct);
            foreach (Match m in BucketLine().Matches(text))
            {
                var le = m.Groups[1].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                buckets[le] = buckets.GetValueOrDefault(le) + (long)double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        var total = buckets.Count == 0 ? 0 : buckets.Values.Max();
        double Quantile(double q) => total == 0 ? double.NaN : buckets.First(b => b.Value >= q * total).Key;
        return (total, Quantile(0.5), Quantile(0.99));
    }

    private static async Task<long> CountAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("""^reelay_poll_lateness_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} ([0-9.e+]+)""", RegexOptions.Multiline)]
    private static partial Regex BucketLine();
}
