using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Bench.Support;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Diagnostics;
using Reelay.Engine;
using Reelay.Jobs;

namespace Reelay.Bench;

/// <summary>
/// N jobs running at once on a real gateway against the ModelVerse EMULATOR (loopback): every job completes, each is
/// polled on its own schedule (lateness from the engine's reelay.engine.poll.lateness histogram: due time to answered
/// poll), and the emulator counts the requests it receives in each second against the instance's configured limit.
/// </summary>
internal static class UpstreamPollingBenchmark
{
    private const double LatenessTargetMs = 1000;

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.UpstreamJobs;
        var limit = options.UpstreamRate;
        Report.Heading($"4. Upstream polling: {Report.Count(n)} jobs running at once against the ModelVerse EMULATOR, {limit} requests/s limit");
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions
        {
            ApiKey = "bench-emulator-key",
            QueueTime = TimeSpan.FromSeconds(2),
            RunTime = TimeSpan.FromSeconds(options.UpstreamRunSeconds),
        });
        emulator.RecordRequests = false;
        await emulator.StartAsync(cancellationToken: cancellationToken);

        await using var gateway = await ReelayGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["Reelay:Providers:mv:Type"] = "modelverse",
                ["Reelay:Providers:mv:BaseUrl"] = emulator.BaseUrl.AbsoluteUri,
                ["Reelay:Providers:mv:ApiKey"] = "bench-emulator-key",
                ["Reelay:Providers:mv:MaxConcurrentJobs"] = n.ToString(CultureInfo.InvariantCulture),
                ["Reelay:Providers:mv:MaxRequestsPerSecond"] = limit.ToString(CultureInfo.InvariantCulture),
                ["Reelay:Providers:mv:PollInterval"] = "00:00:03",
                ["Reelay:Providers:mv:MaxPollInterval"] = "00:00:05",
                ["Reelay:Engine:MaxConcurrentPollsPerProvider"] = "256",
                ["Reelay:Routes:sora-2:0:Provider"] = "mv",
                ["Reelay:Store:CacheCapacity"] = (n * 2).ToString(CultureInfo.InvariantCulture),
            },
            cancellationToken);
        var engine = gateway.Services.GetRequiredService<JobEngine>();

        var lateness = new ConcurrentBag<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ReelayTelemetry.MeterName && instrument.Name == ReelayTelemetry.PollLatenessName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => lateness.Add(value * 1000)); // seconds -> ms
        listener.Start();

        var clock = Stopwatch.StartNew();
        var ids = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            var job = await engine.SubmitAsync(
                new JobRequest { Model = "sora-2", Prompt = $"benchmark job {i}", Size = "720x1280", DurationSeconds = 4, Owner = Caller.AdminKeyId },
                cancellationToken);
            ids.Add(job.Id);
        }

        var submitted = clock.Elapsed;
        var caller = Caller.Admin;
        var succeeded = 0;
        var failed = 0;
        var until = DateTime.UtcNow.AddMinutes(15);
        var pending = new HashSet<string>(ids);
        var maxRunning = 0;
        while (pending.Count > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(1000, cancellationToken);
            var running = 0;
            foreach (var id in pending.ToList())
            {
                var job = await engine.GetAsync(id, caller, cancellationToken);
                if (job.Status == JobStatus.Succeeded)
                {
                    succeeded++;
                    pending.Remove(id);
                }
                else if (job.Status.IsTerminal())
                {
                    failed++;
                    pending.Remove(id);
                }
                else if (job.Status == JobStatus.Running)
                {
                    running++;
                }
            }

            maxRunning = Math.Max(maxRunning, running);
        }

        var total = clock.Elapsed;
        listener.Dispose();
        var sorted = lateness.Order().ToArray();
        var perSecond = emulator.RequestsPerSecond.Values.ToArray();
        var busiest = perSecond.Length == 0 ? 0 : perSecond.Max();
        var p50 = sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 50);
        var p99 = sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 99);
        var worst = sorted.Length == 0 ? double.NaN : sorted[^1];

        Report.Line($"Submitted {Report.Count(n)} jobs in {submitted.TotalSeconds:0.0} s; all ended after {total.TotalSeconds:0.0} s ({succeeded} succeeded, {failed} failed, {pending.Count} unfinished).");
        Report.Line($"Most jobs running upstream at once (sampled each second): {Report.Count(maxRunning)}.");
        Report.Line($"Each emulated task waits 2 s, then runs {options.UpstreamRunSeconds} s; polls start at 3 s and grow to 5 s with 20 % jitter.");
        Report.Line($"Polls answered: {Report.Count(sorted.Length)}; lateness (due time to answer) p50 {Report.Ms(p50)}, p99 {Report.Ms(p99)}, max {Report.Ms(worst)}.");
        Report.Line($"Upstream requests (submits, polls, downloads): {Report.Count(perSecond.Sum())} over {perSecond.Length} s; busiest second {busiest} for a limit of {limit}/s.");
        Report.Line();
        Report.Result($"{Report.Count(n)} concurrent upstream jobs complete", $"{succeeded} of {n}", $"{n} submitted", succeeded / (double)n, "all", succeeded == n);
        Report.Result("Poll lateness at p99", Report.Ms(p99), $"target {Report.Ms(LatenessTargetMs)}", p99 / LatenessTargetMs, $"<= {Report.Ms(LatenessTargetMs)}", p99 <= LatenessTargetMs);
        Report.Result("Upstream requests in the busiest second", $"{busiest}/s", $"limit {limit}/s", busiest / (double)limit, $"<= {limit}/s", busiest <= limit);
    }
}
