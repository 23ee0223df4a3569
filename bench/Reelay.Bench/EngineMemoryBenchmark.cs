using System.Diagnostics;
using System.Runtime.CompilerServices;
using Reelay.Bench.Support;
using Reelay.Engine;
using Reelay.Jobs;

namespace Reelay.Bench;

/// <summary>
/// Managed memory the engine keeps per waiting and per running job, from GC.GetTotalMemory(forceFullCollection: true)
/// around admitting many jobs. The bench keeps no Job object, so what remains is what the engine holds (ids, queue
/// nodes, timer entries, slot sets). For running jobs the store must hold the jobs, so its share is measured and
/// taken out: the engine is stopped and collected, and the store alone is measured again.
/// </summary>
internal static class EngineMemoryBenchmark
{
    private const int BudgetBytes = 2048;

    private sealed record RunningMemory(long Total, long Store, long Engine, bool EngineCollected);

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.Jobs;
        Report.Heading($"3. Engine memory per job: {Report.Count(n)} queued, then {Report.Count(n)} running");
        using var temp = TempDirectory.Create("reelay-bench-memory-");

        // Warm-up on throwaway engines: JIT, type loading and statics must not count as per-job memory.
        var template = await WarmUpAsync(temp.Path, cancellationToken);
        await Task.Yield();
        var idBytes = MeasureIdBytes(n);
        var queued = await MeasureQueuedAsync(template, n, Path.Combine(temp.Path, "queued"), cancellationToken);
        var running = await MeasureRunningAsync(template, n, Path.Combine(temp.Path, "running"), cancellationToken);

        var perQueued = queued.Bytes / (double)n;
        var perRunningShared = running.Engine / (double)n;
        var perRunning = perRunningShared + idBytes;
        Report.Line("Method: full, blocking collections, then GC.GetTotalMemory(forceFullCollection: true), before and after");
        Report.Line($"admitting {Report.Count(n)} jobs through JobScheduler.Admit; the bench drops each Job right after admitting it.");
        Report.Line($"A job id string ({Job.NewId().Length} chars) measures {Report.Bytes(idBytes)} on its own.");
        Report.Line();
        Report.Line("Queued: a 'sandbox' provider with 0 slots, so nothing is dispatched and no store is involved.");
        Report.Line($"  +{Report.Bytes(queued.Bytes)} for {Report.Count(n)} jobs = {Report.Bytes(perQueued)} per queued job (id, queue node, index entry, deadline timer).");
        Report.Line("  With this queue, the queue_position of the last job (JobEngine.QueuePosition, in every response about a queued");
        Report.Line($"  job) takes {Report.Ms(queued.QueuePositionMs)} per call, under the scheduler's lock.");
        Report.Line();
        Report.Line($"Running: a provider that accepts at once ({Report.Count(n)} slots, first poll due in 1 h), an in-memory store.");
        Report.Line($"  engine + store          +{Report.Bytes(running.Total)}");
        Report.Line($"  store alone             +{Report.Bytes(running.Store)}   (measured again after the scheduler was stopped and collected)");
        Report.Line($"  engine = the difference +{Report.Bytes(running.Engine)} = {Report.Bytes(perRunningShared)} per job (slot entry, poll and deadline timers)");
        Report.Line($"  the ids are shared with the store and counted there; with its own copy of the id, {Report.Bytes(perRunning)} per running job.");
        if (!running.EngineCollected)
        {
            Report.Line("  WARNING: the stopped scheduler was still reachable, so the store-alone figure includes engine memory.");
        }

        Report.Line();
        Report.Result("Engine memory per queued job", Report.Bytes(perQueued), $"budget {Report.Bytes(BudgetBytes)}", perQueued / BudgetBytes, $"<= {Report.Bytes(BudgetBytes)}", perQueued <= BudgetBytes);
        Report.Result(
            "Engine memory per running job",
            $"{Report.Bytes(perRunning)} (incl. id)",
            $"budget {Report.Bytes(BudgetBytes)}",
            perRunning / BudgetBytes,
            $"<= {Report.Bytes(BudgetBytes)}",
            running.EngineCollected ? perRunning <= BudgetBytes : null);
        Report.Result("queue_position lookup (context)", $"{Report.Ms(queued.QueuePositionMs)} per call", $"last of {Report.Count(n)} queued jobs", double.NaN, "none", null);
    }

    /// <summary>Runs both paths on a small scale and returns a job exactly as the engine stores it, to copy with fresh ids.</summary>
    private static async Task<Job> WarmUpAsync(string directory, CancellationToken cancellationToken)
    {
        Job template;
        var held = new InMemoryJobStore();
        await using (var engine = await BenchEngine.StartAsync(held, new HoldProvider(), Path.Combine(directory, "warmup-queued"), cancellationToken))
        {
            template = await engine.Engine.SubmitAsync(BenchEngine.TextToVideoRequest, cancellationToken) with { Version = 0 };
            AdmitQueued(engine.Scheduler, template, 2000);
        }

        await MeasureRunningAsync(template, 2000, Path.Combine(directory, "warmup-running"), cancellationToken);
        return template;
    }

    private static async Task<(long Bytes, double QueuePositionMs)> MeasureQueuedAsync(Job template, int n, string directory, CancellationToken cancellationToken)
    {
        await using var engine = await BenchEngine.StartAsync(new InMemoryJobStore(), new HoldProvider(), directory, cancellationToken);
        await Task.Yield();
        var before = Settle();
        var lastId = AdmitQueued(engine.Scheduler, template, n);
        var after = Settle();
        var (queued, active, timers) = engine.Scheduler.Counts();
        if (queued != n || active != 0 || timers != n)
        {
            throw new InvalidOperationException($"Expected {n} queued jobs with {n} timers; the scheduler has {queued} queued, {active} active, {timers} timers.");
        }

        // While the queue is this deep: what the queue_position of a status read or submit response costs for the last job.
        var last = template with { Id = lastId };
        const int calls = 20;
        engine.Engine.QueuePosition(last);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            engine.Engine.QueuePosition(last);
        }

        return (after - before, Stopwatch.GetElapsedTime(started).TotalMilliseconds / calls);
    }

    /// <summary>Admits <paramref name="n"/> copies of <paramref name="template"/> with fresh ids, keeping none; returns the last id.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string AdmitQueued(JobScheduler scheduler, Job template, int n)
    {
        var id = "";
        for (var i = 0; i < n; i++)
        {
            id = Job.NewId();
            scheduler.Admit(template with { Id = id });
        }

        return id;
    }

    private static async Task<RunningMemory> MeasureRunningAsync(Job template, int n, string directory, CancellationToken cancellationToken)
    {
        var store = new InMemoryJobStore();
        await Task.Yield();
        var before = Settle();
        var (withEngine, scheduler) = await RunThenStopAsync(store, template, n, directory, cancellationToken);
        var total = withEngine - before;

        // Resume on a fresh thread-pool stack: the frames of the finished methods, which saw the engine, must be gone, or
        // the stopped scheduler could still be reachable from a stale stack slot and count as the store's.
        await Task.Yield();
        var storeAlone = Settle() - before;
        GC.KeepAlive(store);
        return new RunningMemory(total, storeAlone, total - storeAlone, !scheduler.IsAlive);
    }

    /// <summary>Makes <paramref name="n"/> jobs running, measures engine and store together, then stops the engine.</summary>
    private static async Task<(long Memory, WeakReference Scheduler)> RunThenStopAsync(InMemoryJobStore store, Job template, int n, string directory, CancellationToken cancellationToken)
    {
        await using var engine = await BenchEngine.StartAsync(store, new InstantProvider(n), directory, cancellationToken);
        var scheduler = new WeakReference(engine.Scheduler);
        for (var i = 0; i < n; i++)
        {
            // What JobEngine.SubmitAsync does after validation: the durable insert, then admission.
            var stored = await store.InsertAsync(template with { Id = Job.NewId() }, cancellationToken);
            engine.Scheduler.Admit(stored);
        }

        await WaitUntilRunningAsync(engine.Scheduler, store, n, cancellationToken);
        return (Settle(), scheduler);
    }

    private static async Task WaitUntilRunningAsync(JobScheduler scheduler, InMemoryJobStore store, int n, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            // A running job holds a slot and has two timers (its deadline and its next poll), the poll set last.
            var (queued, active, timers) = scheduler.Counts();
            if (queued == 0 && active == n && timers == 2 * n && store.CountIn(JobStatus.Running) == n)
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Jobs did not all become running: {queued} queued, {active} active, {timers} timers.");
            }

            await Task.Delay(50, cancellationToken);
        }

        // Let the finished background tasks unregister themselves.
        await Task.Delay(250, cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double MeasureIdBytes(int n)
    {
        var ids = new string[n];
        var before = Settle();
        for (var i = 0; i < n; i++)
        {
            ids[i] = Job.NewId();
        }

        var after = Settle();
        GC.KeepAlive(ids);
        return (after - before) / (double)n;
    }

    /// <summary>
    /// Collects everything unreachable and returns the heap size. Call it right after an <c>await Task.Yield()</c>: on a
    /// fresh thread-pool stack, no stale frame of a finished method keeps a dropped engine reachable.
    /// </summary>
    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
