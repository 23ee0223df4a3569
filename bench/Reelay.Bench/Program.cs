using System.Globalization;

namespace Reelay.Bench;

/// <summary>
/// Reelay's benchmarks. Each prints its measurements, then one "RESULT |" line per target with the ratio against a
/// baseline measured in the same run and PASS or FAIL. The exit code is 0 whatever the results (a measurement, not a
/// test); 2 for bad arguments.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: Reelay.Bench [status|submit|memory|upstream|content|kill|engine|callbacks|cluster|all] [options]
          status    GET /v1/videos/{id} throughput on a real gateway vs a bare Kestrel endpoint (and nginx if installed), with wrk
          submit    JobEngine.SubmitAsync vs SqliteJobStore.InsertAsync alone (p50/p99), plus HTTP POST /v1/videos for context
          memory    engine memory per queued and per running job
          upstream  1,000 jobs running at once against the ModelVerse EMULATOR: completion, poll lateness, request rate
          content   GET /v1/videos/{id}/content (224 KiB and 13 MiB) on Reelay, and behind nginx with X-Accel-Redirect, vs nginx alone, with wrk
          kill      SIGKILL a `reelay serve` process mid-burst against an upstream EMULATOR, restart it: unknown outcomes, lost jobs, duplicate submissions
          engine    queued + running jobs (100,000 + 10,000) against the ModelVerse EMULATOR at 1,000 requests/s: completion,
                    poll lateness, memory per job, queue_position
          callbacks jobs against the Seedance EMULATOR: upstream completion to the client's webhook, with and without callbacks
          cluster   nodes (3) on one private PostgreSQL against the ModelVerse EMULATOR: poll lateness with 10,000 jobs spread
                    over them, status reads of all nodes vs one, takeover time after SIGKILL (p50, max over several kills)
          all       all but kill, engine, callbacks and cluster (the default; those run only when named)
        options:
          --duration <s>      wrk seconds per measured round (10)
          --warmup <s>        wrk warm-up seconds per target (3)
          --rounds <n>        measured rounds per target, alternating targets (2)
          --threads <n>       wrk threads (2)
          --connections <n>   wrk connections (32)
          --submits <n>       measured submits and inserts each (3000)
          --submit-warmup <n> discarded submits and inserts each (300)
          --http-posts <n>    measured HTTP POSTs (1000; 0 skips them)
          --jobs <n>          jobs for the memory benchmark (100000)
          --upstream-jobs <n> jobs for the upstream benchmark (1000)
          --upstream-rate <n> the emulated instance's request limit per second (400)
          --upstream-run <s>  seconds each emulated task runs (30)
          --kill-upstream <l> comma-separated: openai, vidu, modelverse (openai,vidu,modelverse)
          --kill-jobs <n>     jobs in the burst (300)
          --kill-after <n>    SIGKILL once the upstream has this many tasks (50)
          --kill-latency <ms> how long the emulator takes to answer a submit, after creating its task (3000)
          --kill-concurrency <n>  the instance's MaxConcurrentJobs (64)
          --kill-rate <n>     the instance's MaxRequestsPerSecond (20)
          --kill-wait <s>     longest wait for every job to end after the restart (1800)
          --engine-queued <n>   jobs beyond the running ones, waiting in the queue (100000)
          --engine-running <n>  the instance's MaxConcurrentJobs: jobs running at once (10000)
          --engine-rate <n>     the instance's MaxRequestsPerSecond (1000)
          --engine-run <s>      seconds each emulated task runs (30)
          --engine-wait <min>   longest wait for every job to end (120)
          --callback-jobs <n>     jobs per callbacks round (20)
          --callback-run <s>      seconds each emulated task runs in the callbacks benchmark (8)
          --callback-spacing <ms> time between the callbacks benchmark's submits (250)
          --engine-submits <n>  Engine:MaxConcurrentSubmitsPerProvider (the default, 32)
          --cluster-nodes <n>     nodes (3)
          --cluster-jobs <n>      jobs for the poll lateness (10000)
          --cluster-run <s>       seconds each emulated task runs (30)
          --cluster-kills <n>     SIGKILLs for the takeover time (5)
          --cluster-kill-jobs <n> jobs the killed node holds each time (20)
          --cluster-wait <min>    longest wait for the lateness jobs to end (60)
          --cluster-poll <s>      first poll interval, growing to twice it (default: the instance's own, 5 s growing to 30 s)
          --cluster-logs <dir>    where the nodes' logs (and PostgreSQL's) are kept when a submit answers 5xx or a node exits
                                  on its own: a cluster-<time> folder inside it (bench/results, relative to the working folder)
          --serve <path>      the Reelay.Cli.dll to run (default: the one built with the benchmark), e.g. an older build
        Reelay.Bench bare-kestrel <route> <body file> <content type>   the status read's bare Kestrel baseline alone, until
                    SIGTERM (bench/ab-serve.sh runs it as the "bare" process)
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (args is ["bare-kestrel", var route, var bodyFile, var contentType])
        {
            return await ServeBareKestrelAsync(route, bodyFile, contentType);
        }

        BenchOptions options;
        string command;
        try
        {
            (command, options) = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message + Environment.NewLine + Usage);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        // SIGTERM (kill, a CI timeout) ends the run the same way, so the benchmarks' own servers, nodes and databases are
        // stopped by their disposal instead of being left running.
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });

        var benchmarks = new List<(string Name, Func<BenchOptions, CancellationToken, Task> Run)>();
        if (command is "status" or "all")
        {
            benchmarks.Add(("Status read throughput", StatusReadBenchmark.RunAsync));
        }

        if (command is "submit" or "all")
        {
            benchmarks.Add(("Submit overhead", SubmitOverheadBenchmark.RunAsync));
        }

        if (command is "memory" or "all")
        {
            benchmarks.Add(("Engine memory per job", EngineMemoryBenchmark.RunAsync));
        }

        if (command is "upstream" or "all")
        {
            benchmarks.Add(("Upstream polling", UpstreamPollingBenchmark.RunAsync));
        }

        if (command is "content" or "all")
        {
            benchmarks.Add(("Content", ContentBenchmark.RunAsync));
        }

        if (command is "engine")
        {
            benchmarks.Add(("Engine", EngineBenchmark.RunAsync));
        }

        if (command is "callbacks")
        {
            benchmarks.Add(("Callbacks", CallbackBenchmark.RunAsync));
        }

        if (command is "cluster")
        {
            benchmarks.Add(("Cluster", ClusterBenchmark.RunAsync));
        }

        if (command is "kill")
        {
            benchmarks.Add(("Kill mid-burst", SubmitKillBenchmark.RunAsync));
        }

        foreach (var (name, run) in benchmarks)
        {
            try
            {
                await run(options, cancel.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                // One broken benchmark must not hide the others' numbers; the summary shows it as ERROR.
                Report.Error(name, ex);
            }
        }

        return 0;
    }

    // For bench/ab-serve.sh: the status read's baseline as a process of its own, so its CPU per request can be read from
    // /proc like a `reelay serve` process's. Serves the file's bytes until SIGTERM or Ctrl+C.
    private static async Task<int> ServeBareKestrelAsync(string route, string bodyFile, string contentType)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        await using var bare = await Support.BareKestrel.StartAsync(route, await File.ReadAllTextAsync(bodyFile), contentType, stop.Token);
        Console.WriteLine($"Bare Kestrel is ready on {bare.BaseAddress.ToString().TrimEnd('/')}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}

/// <summary>Knobs shared by the benchmarks; the defaults keep bench/run.sh near two minutes on two cores.</summary>
internal sealed record BenchOptions
{
    public int DurationSeconds { get; init; } = 10;

    public int WarmupSeconds { get; init; } = 3;

    public int Rounds { get; init; } = 2;

    public int Threads { get; init; } = 2;

    public int Connections { get; init; } = 32;

    public int Submits { get; init; } = 3000;

    public int SubmitWarmup { get; init; } = 300;

    public int HttpPosts { get; init; } = 1000;

    public int Jobs { get; init; } = 100_000;

    public int UpstreamJobs { get; init; } = 1000;

    public int UpstreamRate { get; init; } = 400;

    public int UpstreamRunSeconds { get; init; } = 30;

    public string KillUpstreams { get; init; } = "openai,vidu,modelverse";

    public int KillJobs { get; init; } = 300;

    public int KillAfterTasks { get; init; } = 50;

    public int KillLatencyMs { get; init; } = 3000;

    public int KillConcurrency { get; init; } = 64;

    public int KillRate { get; init; } = 20;

    public int KillWaitSeconds { get; init; } = 1800;

    public string? ServeDll { get; init; }

    public int EngineQueued { get; init; } = 100_000;

    public int EngineRunning { get; init; } = 10_000;

    public int EngineRate { get; init; } = 1000;

    public int EngineRunSeconds { get; init; } = 30;

    public int EngineWaitMinutes { get; init; } = 120;

    public int CallbackJobs { get; init; } = 20;

    public int CallbackRunSeconds { get; init; } = 8;

    public int CallbackSpacingMs { get; init; } = 250;
    /// <summary>Reelay:Engine:MaxConcurrentSubmitsPerProvider for the engine benchmark (null: the default).</summary>
    public int? EngineSubmits { get; init; }

    public int ClusterNodes { get; init; } = 3;

    public int ClusterJobs { get; init; } = 10_000;

    public int ClusterRunSeconds { get; init; } = 30;

    public int ClusterKills { get; init; } = 5;

    public int ClusterKillJobs { get; init; } = 20;

    public int ClusterWaitMinutes { get; init; } = 60;

    /// <summary>The instance's first poll interval in seconds for the cluster benchmark (null: the provider default).</summary>
    public int? ClusterPollSeconds { get; init; }

    /// <summary>Where the cluster benchmark keeps its nodes' logs when a submit fails with a 5xx or a node exits on its own.</summary>
    public string ClusterLogs { get; init; } = Path.Combine("bench", "results");

    public static (string Command, BenchOptions Options) Parse(string[] args)
    {
        var command = "all";
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                command = arg is "status" or "submit" or "memory" or "upstream" or "content" or "kill" or "engine" or "callbacks" or "cluster" or "all"
                    ? arg
                    : throw new ArgumentException($"Unknown benchmark '{arg}'.");
                continue;
            }

            if (arg is "--kill-upstream" or "--serve" or "--cluster-logs")
            {
                if (i + 1 >= args.Length)
                {
                    throw new ArgumentException($"{arg} needs a value.");
                }

                i++;
                options = arg switch
                {
                    "--serve" => options with { ServeDll = Path.GetFullPath(File.Exists(args[i]) ? args[i] : throw new ArgumentException($"--serve: no file '{args[i]}'.")) },
                    "--cluster-logs" => options with { ClusterLogs = args[i] },
                    _ => options with { KillUpstreams = args[i] },
                };
                continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"{arg} needs a whole number.");
            }

            i++;
            options = arg switch
            {
                "--duration" => options with { DurationSeconds = Positive(arg, value) },
                "--warmup" => options with { WarmupSeconds = value },
                "--rounds" => options with { Rounds = Positive(arg, value) },
                "--threads" => options with { Threads = Positive(arg, value) },
                "--connections" => options with { Connections = Positive(arg, value) },
                "--submits" => options with { Submits = Positive(arg, value) },
                "--submit-warmup" => options with { SubmitWarmup = value },
                "--http-posts" => options with { HttpPosts = value },
                "--jobs" => options with { Jobs = Positive(arg, value) },
                "--upstream-jobs" => options with { UpstreamJobs = Positive(arg, value) },
                "--upstream-rate" => options with { UpstreamRate = Positive(arg, value) },
                "--upstream-run" => options with { UpstreamRunSeconds = Positive(arg, value) },
                "--callback-jobs" => options with { CallbackJobs = Positive(arg, value) },
                "--callback-run" => options with { CallbackRunSeconds = Positive(arg, value) },
                "--callback-spacing" => options with { CallbackSpacingMs = Positive(arg, value) },
                "--kill-jobs" => options with { KillJobs = Positive(arg, value) },
                "--kill-after" => options with { KillAfterTasks = Positive(arg, value) },
                "--kill-latency" => options with { KillLatencyMs = value },
                "--kill-concurrency" => options with { KillConcurrency = Positive(arg, value) },
                "--kill-rate" => options with { KillRate = value },
                "--kill-wait" => options with { KillWaitSeconds = Positive(arg, value) },
                "--engine-queued" => options with { EngineQueued = value },
                "--engine-running" => options with { EngineRunning = Positive(arg, value) },
                "--engine-rate" => options with { EngineRate = Positive(arg, value) },
                "--engine-run" => options with { EngineRunSeconds = Positive(arg, value) },
                "--engine-wait" => options with { EngineWaitMinutes = Positive(arg, value) },
                "--engine-submits" => options with { EngineSubmits = Positive(arg, value) },
                "--cluster-nodes" => options with { ClusterNodes = Positive(arg, value) },
                "--cluster-jobs" => options with { ClusterJobs = Positive(arg, value) },
                "--cluster-run" => options with { ClusterRunSeconds = Positive(arg, value) },
                "--cluster-kills" => options with { ClusterKills = value },
                "--cluster-kill-jobs" => options with { ClusterKillJobs = Positive(arg, value) },
                "--cluster-wait" => options with { ClusterWaitMinutes = Positive(arg, value) },
                "--cluster-poll" => options with { ClusterPollSeconds = Positive(arg, value) },
                _ => throw new ArgumentException($"Unknown option '{arg}'."),
            };
        }

        return (command, options);
    }

    private static int Positive(string name, int value) => value > 0 ? value : throw new ArgumentException($"{name} must be at least 1.");
}
