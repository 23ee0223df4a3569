using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Bench.Support;
using Reelay.Catalog;
using Reelay.Diagnostics;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Results;
using Reelay.Routing;

namespace Reelay.Bench;

/// <summary>
/// The whole engine at scale against the ModelVerse EMULATOR with a request limit: the real ModelVerse adapter (from a
/// real gateway's provider registry: HTTP client, rate limiter), a JobScheduler and JobEngine wired by hand over the
/// bench's in-memory job store (claims kept in process), so the figures are the engine's and not the disk's (SQLite
/// with a full sync per commit manages a few hundred writes per second here; the submit benchmark measures it).
/// queued + running jobs go through JobEngine.SubmitAsync; at most "running" run at once. Measures that all complete,
/// poll lateness (the reelay.poll.lateness histogram), the managed heap per admitted job at the peak,
/// and queue_position at the deepest queue. Media inspection is a STAND-IN (<see cref="StandInMediaInspector"/>):
/// ffprobe and thumbnails per job would measure ffmpeg, not the engine.
/// </summary>
internal static class EngineBenchmark
{
    private const double LatenessTargetMs = 1000;
    private const int MemoryBudgetBytes = 2048;
    private const double QueuePositionTargetUs = 50;
    private const string UpstreamDurationName = "reelay.upstream.duration";

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var running = options.EngineRunning;
        var total = options.EngineQueued + running;
        var limit = options.EngineRate;

        // Polls must fit the upstream's request budget: every running job polled once per interval, at most 40 % of it.
        // The limiter sustains about 90 % of the limit, and every job also needs a submit and a download: at 60 % for
        // polls (10,000 running: 588/s) the rest left about 156 jobs/s, and the full size took about 12 minutes of
        // requests alone; at 40 % (400/s) about 250 jobs/s, and the slots (10,000 held ~50 s each: 200 jobs/s) decide.
        var interval = TimeSpan.FromSeconds(Math.Max(3, Math.Ceiling(running / (limit * 0.4))));
        Report.Heading($"6. Engine: {Report.Count(options.EngineQueued)} queued + {Report.Count(running)} running against the ModelVerse EMULATOR, {limit} requests/s limit");
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions
        {
            ApiKey = "bench-emulator-key",
            QueueTime = TimeSpan.FromSeconds(2),
            RunTime = TimeSpan.FromSeconds(options.EngineRunSeconds),
            // Every result is downloaded and stored for real: 110,000 copies of the moving test pattern (about 1.5 MB
            // each) filled this machine's disk in the first full-size try; a flat picture is a few KiB.
            FlatVideos = true,
        });
        emulator.RecordRequests = false;
        await emulator.StartAsync(cancellationToken: cancellationToken);

        await using var gateway = await ReelayGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["Reelay:Providers:mv:Type"] = "modelverse",
                ["Reelay:Providers:mv:BaseUrl"] = emulator.BaseUrl.AbsoluteUri,
                ["Reelay:Providers:mv:ApiKey"] = "bench-emulator-key",
                ["Reelay:Providers:mv:MaxConcurrentJobs"] = running.ToString(CultureInfo.InvariantCulture),
                ["Reelay:Providers:mv:MaxRequestsPerSecond"] = limit.ToString(CultureInfo.InvariantCulture),
                ["Reelay:Providers:mv:PollInterval"] = interval.ToString("c", CultureInfo.InvariantCulture),
                ["Reelay:Providers:mv:MaxPollInterval"] = (interval * 1.5).ToString("c", CultureInfo.InvariantCulture),
                ["Reelay:Routes:sora-2:0:Provider"] = "mv",
            },
            cancellationToken);

        // The engine under test: the gateway's router (so its ModelVerse instance), everything else wired here.
        using var temp = TempDirectory.Create("reelay-bench-engine-");
        var reelay = new ReelayOptions { DataDirectory = temp.Path, JobDeadline = TimeSpan.FromHours(6) };
        reelay.Engine.MaxConcurrentPollsPerProvider = 512;
        reelay.Engine.MaxConcurrentFinalizations = 16;
        reelay.Engine.MaxConcurrentSubmitsPerProvider = options.EngineSubmits ?? reelay.Engine.MaxConcurrentSubmitsPerProvider;
        reelay.Storage.Spritesheet = false;
        var store = new InMemoryJobStore();
        var results = new LocalResultStore(Path.Combine(reelay.DataPath, "files"));
        var router = gateway.Services.GetRequiredService<IJobRouter>();
        using var http = new GuardedHttpClient(new AddressPolicy(), TimeProvider.System);
        await using var scheduler = new JobScheduler(store, results, router, new StandInMediaInspector(), TimeProvider.System, reelay, NullLogger<JobScheduler>.Instance);
        var engine = new JobEngine(store, results, ModelCatalog.Load(), router, new InputImageLoader(http, reelay), scheduler, TimeProvider.System, reelay);
        await scheduler.StartAsync(cancellationToken);

        // Lateness is measured from a poll's due time until the upstream answered it; the poll call's own duration (the
        // rate-limit wait and the emulator's round trip) is reelay.upstream.duration, so the rest (timer, thread pool,
        // store read, the lane's poll gate) is the engine's share.
        var lateness = new ConcurrentBag<double>();
        var pollCalls = new ConcurrentBag<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ReelayTelemetry.MeterName && instrument.Name is ReelayTelemetry.PollLatenessName or UpstreamDurationName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == ReelayTelemetry.PollLatenessName)
            {
                lateness.Add(value * 1000); // seconds -> ms
                return;
            }

            foreach (var tag in tags)
            {
                if (tag is { Key: "reelay.operation", Value: "poll" })
                {
                    pollCalls.Add(value * 1000);
                }
            }
        });
        listener.Start();

        var before = Settle();
        var clock = Stopwatch.StartNew();
        var next = -1;
        var lastId = "";
        var submitters = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
            {
                var job = await engine.SubmitAsync(
                    new JobRequest { Model = "sora-2", Prompt = $"engine benchmark job {i}", Size = "720x1280", DurationSeconds = 4, Owner = Caller.AdminKeyId },
                    cancellationToken);
                if (i == total - 1)
                {
                    lastId = job.Id;
                }
            }
        }, cancellationToken)).ToList();
        var peakQueued = 0;
        while (!Task.WhenAll(submitters).IsCompleted)
        {
            await Task.WhenAny(Task.WhenAll(submitters), Task.Delay(500, cancellationToken));
            peakQueued = Math.Max(peakQueued, scheduler.Counts().Queued);
        }

        await Task.WhenAll(submitters);
        var submitted = clock.Elapsed;
        var (queuedNow, activeNow, _) = scheduler.Counts();
        peakQueued = Math.Max(peakQueued, queuedNow);
        var after = Settle();
        var perJob = (after - before) / (double)(queuedNow + activeNow);

        // queue_position of the job at the back of the deepest queue: what every status read of a queued job pays.
        var last = await store.GetAsync(lastId, cancellationToken) ?? throw new InvalidOperationException("The last job is missing.");
        var position = engine.QueuePosition(last);
        const int calls = 100_000;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            engine.QueuePosition(last);
        }

        var positionUs = Stopwatch.GetElapsedTime(started).TotalMicroseconds / calls;

        var until = DateTime.UtcNow.AddMinutes(options.EngineWaitMinutes);
        while (DateTime.UtcNow < until)
        {
            var (queued, active, _) = scheduler.Counts();
            if (queued == 0 && active == 0)
            {
                break;
            }

            await Task.Delay(1000, cancellationToken);
        }

        var elapsed = clock.Elapsed;
        listener.Dispose();
        var succeeded = store.CountIn(JobStatus.Succeeded);
        var failed = store.CountIn(JobStatus.Failed) + store.CountIn(JobStatus.Cancelled);
        var unfinished = total - succeeded - failed;
        var sorted = lateness.Order().ToArray();
        var perSecond = emulator.RequestsPerSecond.Values.ToArray();
        var busiest = perSecond.Length == 0 ? 0 : perSecond.Max();
        var p50 = sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 50);
        var p99 = sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 99);
        var calls99 = pollCalls.Order().ToArray() is { Length: > 0 } callTimes ? Report.Percentile(callTimes, 99) : double.NaN;
        var calls50 = pollCalls.Order().ToArray() is { Length: > 0 } callTimes50 ? Report.Percentile(callTimes50, 50) : double.NaN;

        Report.Line($"Submitted {Report.Count(total)} jobs (8 concurrent submitters) in {submitted.TotalSeconds:0.0} s; most waiting at once: {Report.Count(peakQueued)}.");
        Report.Line($"All ended after {elapsed.TotalSeconds:0.0} s: {Report.Count(succeeded)} succeeded, {Report.Count(failed)} failed, {Report.Count(unfinished)} unfinished.");
        Report.Line($"Submits in flight per provider at most {reelay.Engine.MaxConcurrentSubmitsPerProvider} (Engine:MaxConcurrentSubmitsPerProvider).");
        Report.Line($"Each emulated task waits 2 s, then runs {options.EngineRunSeconds} s; polls start at {interval.TotalSeconds:0} s and grow to {interval.TotalSeconds * 1.5:0} s with 20 % jitter.");
        Report.Line($"Polls answered: {Report.Count(sorted.Length)}; lateness p50 {Report.Ms(p50)}, p99 {Report.Ms(p99)}.");
        Report.Line($"  of which the poll call (rate-limit wait + emulator round trip): p50 {Report.Ms(calls50)}, p99 {Report.Ms(calls99)}; the rest is timer, thread pool, store read and poll gate.");
        Report.Line($"Upstream requests: {Report.Count(perSecond.Sum())} over {perSecond.Length} s; busiest second {busiest} for a limit of {limit}/s.");
        Report.Line($"Managed heap with {Report.Count(queuedNow)} queued and {Report.Count(activeNow)} holding a slot, over the idle gateway: +{Report.Bytes(after - before)}");
        Report.Line($"  = {Report.Bytes(perJob)} per job, an upper bound: it includes the in-memory store's jobs (about 650 B each, see the memory benchmark),");
        Report.Line("  in-process claims and in-flight calls.");
        Report.Line($"queue_position of the last job (position {position}): {positionUs:0.00} µs per call over {Report.Count(calls)} calls.");
        Report.Line("Media inspection (ffprobe, thumbnail) is a STAND-IN here; the download from the emulator and the upload to local storage are real.");
        Report.Line();
        Report.Result($"{Report.Count(total)} jobs complete", $"{Report.Count(succeeded)} of {Report.Count(total)}", $"{Report.Count(total)} submitted", succeeded / (double)total, "all", succeeded == total);
        Report.Result("Engine poll lateness at p99", Report.Ms(p99), $"target {Report.Ms(LatenessTargetMs)}", p99 / LatenessTargetMs, $"<= {Report.Ms(LatenessTargetMs)}", p99 <= LatenessTargetMs);
        Report.Result("Engine memory per admitted job", Report.Bytes(perJob), $"budget {Report.Bytes(MemoryBudgetBytes)}", perJob / MemoryBudgetBytes, $"<= {Report.Bytes(MemoryBudgetBytes)}", perJob <= MemoryBudgetBytes);
        Report.Result($"queue_position at {Report.Count(queuedNow)} queued", $"{positionUs:0.00} µs", $"target {QueuePositionTargetUs:0} µs", positionUs / QueuePositionTargetUs, $"<= {QueuePositionTargetUs:0} µs", positionUs <= QueuePositionTargetUs);
        Report.Result("Upstream requests in the busiest second", $"{busiest}/s", $"limit {limit}/s", busiest / (double)limit, $"<= {limit}/s", busiest <= limit);
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// A STAND-IN for ffprobe and the thumbnail: any non-empty download is a 4 s 720x1280 video, and the thumbnail is a
    /// few bytes. The engine benchmark measures scheduling, not ffmpeg (which the upstream benchmark runs for real).
    /// </summary>
    private sealed class StandInMediaInspector : IMediaInspector
    {
        public Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken) =>
            Task.FromResult(new FileInfo(path).Length > 0 ? new VideoFacts(4, 720, 1280) : null);

        public async Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken)
        {
            await File.WriteAllBytesAsync(outputPath, "RIFF-stand-in"u8.ToArray(), cancellationToken);
            return true;
        }
    }
}
