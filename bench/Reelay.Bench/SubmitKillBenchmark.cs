using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reelay.Bench.Support;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Emulators.Vidu;

namespace Reelay.Bench;

/// <summary>
/// The kill test of issue 17 item 8: a real `reelay serve` process against an upstream EMULATOR (in this process, on
/// loopback) whose submits create the task at once but answer only after a delay; a burst of jobs; SIGKILL while submits
/// are in flight; a restart on the same data folder; then every job to its end. Prints the jobs that failed with
/// submit_outcome_unknown (and how many of those the upstream had: billed, never delivered), jobs lost, and duplicate
/// upstream submissions from the emulator's request log and task table. The serve binary is a parameter, so the same
/// scenario measures an older build too.
/// </summary>
internal static partial class SubmitKillBenchmark
{
    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        foreach (var upstream in options.KillUpstreams.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await RunOneAsync(upstream, options, cancellationToken);
        }
    }

    private static async Task RunOneAsync(string kind, BenchOptions o, CancellationToken ct)
    {
        var n = o.KillJobs;
        var dll = o.ServeDll ?? ServeProcess.DefaultDll;
        Report.Heading($"5. Kill mid-burst: {n} jobs, {kind} EMULATOR (submit answers after {o.KillLatencyMs} ms), SIGKILL after {o.KillAfterTasks} upstream tasks; serve: {(o.ServeDll is null ? "this build" : dll)}");
        var emulatorOptions = new EmulatorOptions
        {
            ApiKey = "bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            QueueTime = TimeSpan.FromMilliseconds(500),
            RunTime = TimeSpan.FromSeconds(3),
        };
        await using UpstreamEmulator emulator = kind switch
        {
            "openai" => new OpenAICompatibleEmulator(emulatorOptions),
            "vidu" => new ViduEmulator(emulatorOptions),
            "modelverse" => new ModelVerseEmulator(emulatorOptions),
            _ => throw new ArgumentException($"--kill-upstream takes openai, vidu or modelverse, not '{kind}'."),
        };
        await emulator.StartAsync(cancellationToken: ct);
        emulator.Faults.SubmitReplyDelay = TimeSpan.FromMilliseconds(o.KillLatencyMs);

        var (model, baseUrl) = kind switch
        {
            "openai" => ("sora-2", new Uri(emulator.BaseUrl, "v1").AbsoluteUri),
            "vidu" => ("viduq2-pro", emulator.BaseUrl.AbsoluteUri),
            _ => ("sora-2", emulator.BaseUrl.AbsoluteUri),
        };
        var environment = new Dictionary<string, string>
        {
            ["Reelay__Providers__up__Type"] = kind,
            ["Reelay__Providers__up__BaseUrl"] = baseUrl,
            ["Reelay__Providers__up__ApiKey"] = emulatorOptions.ApiKey,
            ["Reelay__Providers__up__MaxConcurrentJobs"] = o.KillConcurrency.ToString(CultureInfo.InvariantCulture),
            ["Reelay__Providers__up__MaxRequestsPerSecond"] = o.KillRate.ToString(CultureInfo.InvariantCulture),
            ["Reelay__Providers__up__PollInterval"] = "00:00:01",
            ["Reelay__Providers__up__MaxPollInterval"] = "00:00:03",
            [$"Reelay__Routes__{model}__0__Provider"] = "up",
            ["Reelay__Storage__Spritesheet"] = "false",
        };

        using var temp = TempDirectory.Create("reelay-bench-kill-");
        var data = Path.Combine(temp.Path, "data");
        var key = "rk_bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var image = kind == "vidu" ? await FirstFrameAsync(temp.Path, ct) : null;
        var clock = Stopwatch.StartNew();

        var ids = new string?[n];
        int tasksAtKill, postsFailed = 0;
        await using (var first = await ServeProcess.StartAsync(dll, data, key, environment, ct))
        {
            await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
            {
                try
                {
                    ids[i] = await CreateAsync(first.Http, Body(model, i, image), token);
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
                {
                    Interlocked.Increment(ref postsFailed);
                }
            });
            Report.Line($"burst: {n - postsFailed} of {n} jobs accepted in {clock.Elapsed.TotalSeconds:0.0} s; upstream tasks so far: {emulator.Tasks.Count}");
            var until = DateTime.UtcNow.AddMinutes(5);
            while (emulator.Tasks.Count < o.KillAfterTasks && DateTime.UtcNow < until)
            {
                await Task.Delay(5, ct);
            }

            first.Kill();
            tasksAtKill = emulator.Tasks.Count;
        }

        var submitsAtKill = SubmitRequests(emulator, kind).Count;
        Report.Line($"SIGKILL at {clock.Elapsed.TotalSeconds:0.0} s: {tasksAtKill} upstream tasks created, {submitsAtKill} submit requests received, {n - tasksAtKill - postsFailed} jobs had not reached the upstream");

        var restarted = Stopwatch.StartNew();
        var states = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
        await using (var second = await ServeProcess.StartAsync(dll, data, key, environment, ct))
        {
            var until = DateTime.UtcNow.AddSeconds(o.KillWaitSeconds);
            var pending = ids.OfType<string>().ToList();
            while (pending.Count > 0 && DateTime.UtcNow < until)
            {
                var answers = new ConcurrentDictionary<string, JsonElement?>(StringComparer.Ordinal);
                await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (id, token) =>
                    answers[id] = await StatusAsync(second.Http, id, token));
                foreach (var (id, video) in answers)
                {
                    states[id] = video;
                }

                pending = [.. pending.Where(id => states[id] is { } v && v.GetProperty("status").GetString() is "queued" or "in_progress")];
                if (pending.Count > 0)
                {
                    await Task.Delay(1000, ct);
                }
            }
        }

        var ended = states.Values.OfType<JsonElement>().Where(v => v.GetProperty("status").GetString() is not ("queued" or "in_progress")).ToList();
        var completed = ended.Count(v => v.GetProperty("status").GetString() == "completed");
        var unknown = ended.Where(v => ErrorCode(v) == "submit_outcome_unknown").ToList();
        var otherFailures = ended.Where(v => v.GetProperty("status").GetString() != "completed" && ErrorCode(v) != "submit_outcome_unknown")
            .GroupBy(ErrorCode).Select(g => $"{g.Key ?? "?"}: {g.Count()}").ToList();
        // Lost: accepted, then unknown to the restarted gateway. Unfinished: still queued or in progress when the wait ended.
        var lost = ids.OfType<string>().Count(id => !states.TryGetValue(id, out var v) || v is null);
        var unfinished = states.Values.OfType<JsonElement>().Where(v => v.GetProperty("status").GetString() is "queued" or "in_progress")
            .GroupBy(v => $"{v.GetProperty("status").GetString()} {(v.TryGetProperty("progress", out var p) ? p.ToString() : "?")}%").Select(g => $"{g.Key}: {g.Count()}").ToList();

        // Duplicates: a job's marker in more than one submit request, or in more than one upstream task (each task bills).
        var requestsPerJob = SubmitRequests(emulator, kind).GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        var tasksPerJob = emulator.Tasks.All.Select(t => Marker(t.Prompt)).OfType<int>().GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        var duplicateRequests = requestsPerJob.Values.Sum(c => c - 1);
        var duplicateTasks = tasksPerJob.Values.Sum(c => c - 1);
        var billedNotDelivered = unknown.Count(v => Marker(v.TryGetProperty("prompt", out var p) ? p.GetString() : null) is { } m && tasksPerJob.ContainsKey(m));

        Report.Line($"after the restart ({restarted.Elapsed.TotalSeconds:0} s): {completed} completed, {unknown.Count} submit_outcome_unknown ({billedNotDelivered} of them with an upstream task: billed, not delivered), other failures: {(otherFailures.Count == 0 ? "none" : string.Join(", ", otherFailures))}, lost: {lost}, unfinished after {o.KillWaitSeconds} s: {(unfinished.Count == 0 ? "none" : string.Join(", ", unfinished))}");
        Report.Line($"upstream: {emulator.Tasks.Count} tasks for {tasksPerJob.Count} jobs, {requestsPerJob.Values.Sum()} submit requests; duplicate submit requests: {duplicateRequests}, duplicate tasks: {duplicateTasks}");
        var label = $"Kill mid-burst, {kind}";
        Report.Result($"{label}: submit_outcome_unknown", $"{unknown.Count} of {n} ({billedNotDelivered} billed upstream)", $"{submitsAtKill} submits at the upstream when killed", n == 0 ? double.NaN : unknown.Count / (double)n, "0 where the upstream can be looked up", null);
        Report.Result($"{label}: jobs lost", $"{lost + postsFailed}", $"{n} submitted", (lost + postsFailed) / (double)n, "0", lost + postsFailed == 0);
        Report.Result($"{label}: duplicate upstream submissions", $"{duplicateTasks} tasks, {duplicateRequests} requests", $"{tasksPerJob.Count} jobs upstream", duplicateTasks / (double)Math.Max(1, tasksPerJob.Count), "0", duplicateTasks == 0 && duplicateRequests == 0);
    }

    private static string Body(string model, int i, string? image)
    {
        var prompt = $"kill-bench-{i.ToString("D4", CultureInfo.InvariantCulture)} a paper boat on a pond";
        return image is null
            ? JsonSerializer.Serialize(new Dictionary<string, string> { ["model"] = model, ["prompt"] = prompt, ["seconds"] = "4", ["size"] = "720x1280" })
            : JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = model, ["prompt"] = prompt, ["seconds"] = "4", ["input_reference"] = new Dictionary<string, string> { ["image_url"] = image } });
    }

    private static async Task<string> CreateAsync(HttpClient http, string json, CancellationToken ct)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/v1/videos", UriKind.Relative), content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/videos answered {(int)response.StatusCode}: {body}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement?> StatusAsync(HttpClient http, string id, CancellationToken ct)
    {
        using var response = await http.GetAsync(new Uri($"/v1/videos/{id}", UriKind.Relative), ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return document.RootElement.Clone();
    }

    private static string? ErrorCode(JsonElement video) =>
        video.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("code", out var c) ? c.GetString() : null;

    /// <summary>The job marker of each submit request the emulator received, in order.</summary>
    private static List<int> SubmitRequests(UpstreamEmulator emulator, string kind)
    {
        var paths = kind switch
        {
            "openai" => new[] { "/v1/videos" },
            "vidu" => ["/ent/v2/img2video", "/ent/v2/text2video"],
            _ => ["/v1/tasks/submit"],
        };
        return [.. emulator.Requests.Where(r => r.Method == "POST" && paths.Contains(r.PathAndQuery)).Select(r => Marker(r.Body)).OfType<int>()];
    }

    private static int? Marker(string? text) =>
        text is not null && MarkerPattern().Match(text) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"kill-bench-(\d{4})")]
    private static partial Regex MarkerPattern();

    /// <summary>A 320x240 PNG as a data URI, made with ffmpeg.</summary>
    private static async Task<string> FirstFrameAsync(string folder, CancellationToken ct)
    {
        var path = Path.Combine(folder, "frame.png");
        using var ffmpeg = Process.Start(new ProcessStartInfo("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", path]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("ffmpeg did not start");
        await ffmpeg.WaitForExitAsync(ct);
        return "data:image/png;base64," + Convert.ToBase64String(await File.ReadAllBytesAsync(path, ct));
    }
}
