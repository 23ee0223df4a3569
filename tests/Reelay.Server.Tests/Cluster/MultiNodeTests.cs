using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Tests.Hosting;
using Reelay.Server.Tests.Support;
using Reelay.Testing;

namespace Reelay.Server.Tests.Cluster;

/// <summary>
/// Three real `reelay serve` processes on one private PostgreSQL and one results folder, with the ModelVerse EMULATOR as
/// the upstream: one node is killed with SIGKILL mid-load, and the other two must take its jobs over.
/// </summary>
public sealed class MultiNodeTests(ITestOutputHelper output)
{
    private const int Nodes = 3;
    private const int JobsPerNode = 6;

    [Fact]
    public async Task Serve_ThreeNodesOneKilledMidLoad_TakenOverWithinTenSecondsNothingLostOrSubmittedTwiceBooksBalanced()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var upstream = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "mv-cluster-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(200), RunTime = TimeSpan.FromSeconds(4) });
        await upstream.StartAsync();
        var root = Directory.CreateTempSubdirectory("reelay-cluster-test-").FullName;
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        var nodes = new CrashRecoveryTests.ServeProcess[Nodes];
        try
        {
            nodes = await Task.WhenAll(Enumerable.Range(0, Nodes).Select(i => CrashRecoveryTests.ServeProcess.StartAsync(Path.Combine(root, $"node{i}"), key, new Dictionary<string, string>
            {
                ["Reelay__Store__Provider"] = "postgres",
                ["Reelay__Store__ConnectionString"] = database.ConnectionString,
                ["Reelay__Engine__NodeId"] = $"node-{i}",
                ["Reelay__Storage__LocalPath"] = Path.Combine(root, "results"),
                ["Reelay__Providers__mv__Type"] = "modelverse",
                ["Reelay__Providers__mv__BaseUrl"] = upstream.BaseUrl.AbsoluteUri,
                ["Reelay__Providers__mv__ApiKey"] = upstream.Options.ApiKey,
                ["Reelay__Providers__mv__PollInterval"] = "00:00:00.250",
                ["Reelay__Providers__mv__MaxPollInterval"] = "00:00:00.500",
                ["Reelay__Providers__mv__MaxConcurrentJobs"] = "6",

                // For the three nodes together (the rate is cluster-wide on PostgreSQL): what 10/s per node allowed before.
                ["Reelay__Providers__mv__MaxRequestsPerSecond"] = "30",
                ["Reelay__Routes__sora-2__0__Provider"] = "mv",
            })));

            // A load spread over the nodes, as a round-robin front spreads it: each node admits (and works on) its share.
            var byNode = Enumerable.Range(0, Nodes).Select(_ => new List<string>()).ToArray();
            for (var n = 0; n < JobsPerNode; n++)
            {
                for (var i = 0; i < Nodes; i++)
                {
                    byNode[i].Add(await SubmitAsync(nodes[i], $"cluster job {i}-{n}"));
                }
            }

            var all = byNode.SelectMany(ids => ids).ToList();
            var (victim, survivor) = (nodes[0], nodes[1]);

            // Wait until the victim works on an accepted job, then follow one of its unfinished jobs through a surviving node.
            await EventuallyAsync(async () => (await StatusesAsync(survivor, byNode[0])).Contains("in_progress"), "a job of node 0 runs upstream", TimeSpan.FromSeconds(40));
            var followed = (await Task.WhenAll(byNode[0].Select(async id => (Id: id, Status: await StatusAsync(survivor, id)))))
                .First(j => j.Status is "queued" or "in_progress").Id;
            using var sse = new HttpClient { BaseAddress = nodes[2].Http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
            sse.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var events = ReadEventsAsync(sse, followed);

            Assert.True(await CountAsync(database.ConnectionString, "SELECT count(*) FROM job_claims WHERE holder = 'node-0'") > 0, "node 0 holds no claim to take over");
            var killed = Stopwatch.StartNew();
            victim.Crash(); // SIGKILL

            // Taken over: no unfinished job is held by the dead node (or by nobody) any more.
            const string orphans = "SELECT count(*) FROM job_claims c JOIN jobs j ON j.id = c.job_id WHERE j.status IN ('queued', 'submitting', 'running') "
                + "AND (c.holder IS NULL OR c.holder = 'node-0')";
            while (await CountAsync(database.ConnectionString, orphans) > 0)
            {
                Assert.True(killed.Elapsed < TimeSpan.FromSeconds(15), "node 0's jobs were not taken over within 15 s");
                await Task.Delay(100);
            }

            var takeover = killed.Elapsed;
            output.WriteLine($"takeover after SIGKILL: {takeover.TotalSeconds:0.00} s");
            Assert.True(takeover <= TimeSpan.FromSeconds(10), $"takeover took {takeover.TotalSeconds:0.0} s");

            // Nothing lost: every job ends, read through a surviving node. A job caught mid-submit may end with the
            // unknown-outcome rule (ModelVerse cannot be asked whether it accepted it); every other one completes.
            var final = new Dictionary<string, JsonElement>();
            await EventuallyAsync(async () =>
            {
                foreach (var id in all.Where(id => !final.ContainsKey(id)))
                {
                    var video = await survivor.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
                    if (video.GetProperty("status").GetString() is "completed" or "failed")
                    {
                        final[id] = video;
                    }
                }

                return final.Count == all.Count;
            }, "every job ends", TimeSpan.FromSeconds(60));
            var failed = final.Values.Where(v => v.GetProperty("status").GetString() == "failed").ToList();
            Assert.All(failed, v => Assert.Equal("submit_outcome_unknown", v.GetProperty("error").GetProperty("code").GetString()));
            output.WriteLine($"{final.Count} jobs ended: {final.Count - failed.Count} completed, {failed.Count} submit_outcome_unknown");
            Assert.True(failed.Count <= 1, $"{failed.Count} jobs failed: {string.Join("; ", failed)}");

            // Nothing submitted twice: the emulator saw each job's prompt in at most one submit.
            var submits = upstream.Requests.Where(r => r is { Method: "POST", PathAndQuery: "/v1/tasks/submit" }).Select(r => r.Json.GetProperty("input").GetProperty("prompt").GetString()).ToList();
            Assert.Equal(submits.Count, submits.Distinct(StringComparer.Ordinal).Count());
            Assert.InRange(submits.Count, all.Count - failed.Count, all.Count);
            Assert.Equal(submits.Count, upstream.Tasks.Count);

            // Books balanced: one charge per job, none left held; completed jobs settled, an unknown outcome unresolved.
            await EventuallyAsync(async () => await CountAsync(database.ConnectionString, "SELECT count(*) FROM charges WHERE state = 'held'") == 0, "every hold is closed", TimeSpan.FromSeconds(20));
            Assert.Equal(all.Count, await CountAsync(database.ConnectionString, "SELECT count(*) FROM charges"));
            Assert.Equal(all.Count - failed.Count, await CountAsync(database.ConnectionString, "SELECT count(*) FROM charges WHERE state = 'settled' AND charged_micros > 0"));
            Assert.Equal(failed.Count, await CountAsync(database.ConnectionString, "SELECT count(*) FROM charges WHERE state = 'unresolved'"));
            Assert.Equal(0, await CountAsync(database.ConnectionString, "SELECT in_flight FROM api_keys WHERE id = 'admin'"));

            // SSE through a surviving node: the followed job's stream ends with its terminal event.
            var names = await events.WaitAsync(TimeSpan.FromSeconds(30));
            var expected = final[followed].GetProperty("status").GetString() == "completed" ? "video.completed" : "video.failed";
            Assert.Equal(expected, names[^1]);
        }
        finally
        {
            foreach (var node in nodes.Where(n => n is not null))
            {
                await node.DisposeAsync();
            }

            ReelayTestServer.TryDeleteDirectory(root);
        }
    }

    private static async Task<string> SubmitAsync(CrashRecoveryTests.ServeProcess node, string prompt)
    {
        using var response = await node.Http.PostAsync("/v1/videos", new StringContent($$"""{"model":"sora-2","prompt":"{{prompt}}","seconds":"4","size":"720x1280"}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> StatusAsync(CrashRecoveryTests.ServeProcess node, string id) =>
        (await node.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}")).GetProperty("status").GetString()!;

    private static async Task<List<string>> StatusesAsync(CrashRecoveryTests.ServeProcess node, IEnumerable<string> ids) =>
        [.. await Task.WhenAll(ids.Select(id => StatusAsync(node, id)))];

    /// <summary>The event names of a job's SSE stream, until the server ends it (after the terminal event).</summary>
    private static async Task<List<string>> ReadEventsAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync($"/v1/videos/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var names = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                names.Add(line["event: ".Length..]);
            }
        }

        return names;
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var until = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(until.Elapsed < timeout, "timed out waiting until " + what);
            await Task.Delay(200);
        }
    }
}
