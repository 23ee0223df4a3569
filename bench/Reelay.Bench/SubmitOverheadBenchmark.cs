using System.Diagnostics;
using System.Text;
using Reelay.Bench.Support;
using Reelay.Jobs;
using Reelay.Storage.Sqlite;

namespace Reelay.Bench;

/// <summary>
/// What a submit adds to its one durable insert. In-process, no HTTP: sequential SqliteJobStore.InsertAsync of pre-built
/// jobs against sequential JobEngine.SubmitAsync (validation, routing, the insert, admission to the scheduler) on the same
/// database file, interleaved in blocks so both see the same disk. The provider holds every job in the queue, so
/// nothing else touches the database. Then HTTP POST /v1/videos on a gateway, for context.
/// </summary>
internal static class SubmitOverheadBenchmark
{
    private const string Name = "Submit overhead (p99)";
    private const double TargetMs = 2.0;
    private const int BlockSize = 100;
    private const int HttpWarmup = 40;

    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        Report.Heading("2. Submit overhead: JobEngine.SubmitAsync vs SqliteJobStore.InsertAsync alone");
        var (insert, submit) = await MeasureInProcessAsync(options, cancellationToken);

        Report.Line("SQLite database file in the system temp folder: WAL, synchronous=FULL (each commit is flushed to disk).");
        Report.Line($"{Report.Count(options.Submits)} of each after {Report.Count(options.SubmitWarmup)} discarded, sequential, interleaved in blocks of {BlockSize} (order alternating).");
        Report.Line("Provider: a 'sandbox' with 0 slots, so every job stays queued and nothing but the benchmark writes.");
        Report.Line();
        Report.Line($"{Report.Pad("operation", 34)}{Report.Pad("p50", 12)}{Report.Pad("p90", 12)}{Report.Pad("p99", 12)}{Report.Pad("p99.9", 12)}max");
        PrintRow("SqliteJobStore.InsertAsync", insert);
        PrintRow("JobEngine.SubmitAsync", submit);
        var p99 = Report.Percentile(submit, 99) - Report.Percentile(insert, 99);
        var p50 = Report.Percentile(submit, 50) - Report.Percentile(insert, 50);
        Report.Line($"{Report.Pad("submit - insert", 34)}{Report.Pad(Signed(p50), 12)}{Report.Pad("", 12)}{Report.Pad(Signed(p99), 12)}");

        double[]? http = null;
        if (options.HttpPosts > 0)
        {
            http = await MeasureHttpAsync(options.HttpPosts, cancellationToken);
            Report.Line();
            Report.Line($"HTTP POST /v1/videos (context): {Report.Count(options.HttpPosts)} sequential POSTs after {HttpWarmup} discarded, one keep-alive connection,");
            Report.Line("on a separate gateway with Reelay:Sandbox:MaxConcurrentRenders=1 and tiny jobs (1 s, 64x64), which the sandbox");
            Report.Line("renders in the background meanwhile: ffmpeg and the render's own store writes compete with the POSTs.");
            PrintRow("HTTP POST /v1/videos", http);
        }

        Report.Line();
        Report.Result(
            Name,
            $"submit p99 {Report.Ms(Report.Percentile(submit, 99))} ({Signed(p99)})",
            $"insert p99 {Report.Ms(Report.Percentile(insert, 99))}",
            Report.Percentile(submit, 99) / Report.Percentile(insert, 99),
            $"<= +{TargetMs:0} ms",
            p99 <= TargetMs);
        if (http is not null)
        {
            Report.Result(
                "HTTP POST /v1/videos (context)",
                $"p50 {Report.Ms(Report.Percentile(http, 50))}, p99 {Report.Ms(Report.Percentile(http, 99))}",
                $"engine submit p99 {Report.Ms(Report.Percentile(submit, 99))}",
                Report.Percentile(http, 99) / Report.Percentile(submit, 99),
                "none",
                null);
        }
    }

    private static async Task<(double[] Insert, double[] Submit)> MeasureInProcessAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        using var temp = TempDirectory.Create("reelay-bench-submit-");
        await using var store = new SqliteJobStore(SqliteJobStore.DefaultConnectionString(temp.Path));
        await store.InitializeAsync(cancellationToken);
        await using var engine = await BenchEngine.StartAsync(store, new HoldProvider(), temp.Path, cancellationToken);

        // The insert-alone rows are exactly what a submit writes: the engine's own job, with fresh ids.
        var template = await engine.Engine.SubmitAsync(BenchEngine.TextToVideoRequest, cancellationToken) with { Version = 0 };
        var total = options.SubmitWarmup + options.Submits;
        var jobs = new Job[total];
        for (var i = 0; i < total; i++)
        {
            jobs[i] = template with { Id = Job.NewId() };
        }

        var insert = new double[total];
        var submit = new double[total];
        for (var start = 0; start < total; start += BlockSize)
        {
            var end = Math.Min(start + BlockSize, total);
            if (start / BlockSize % 2 == 0)
            {
                await InsertBlockAsync(start, end);
                await SubmitBlockAsync(start, end);
            }
            else
            {
                await SubmitBlockAsync(start, end);
                await InsertBlockAsync(start, end);
            }
        }

        var queued = engine.Scheduler.Counts().Queued;
        if (queued != total + 1)
        {
            throw new InvalidOperationException($"Expected {total + 1} queued jobs in the scheduler, found {queued}.");
        }

        return (Sorted(insert[options.SubmitWarmup..]), Sorted(submit[options.SubmitWarmup..]));

        async Task InsertBlockAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await store.InsertAsync(jobs[i], cancellationToken);
                insert[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        async Task SubmitBlockAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await engine.Engine.SubmitAsync(BenchEngine.TextToVideoRequest, cancellationToken);
                submit[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
    }

    private static async Task<double[]> MeasureHttpAsync(int count, CancellationToken cancellationToken)
    {
        await using var gateway = await ReelayGateway.StartAsync(new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1" }, cancellationToken);
        const string json = """{"model":"sandbox","prompt":"Submit benchmark","seconds":"1","size":"64x64"}""";
        var times = new double[count];
        for (var i = -HttpWarmup; i < count; i++)
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            var started = Stopwatch.GetTimestamp();
            using var response = await gateway.Http.PostAsync(new Uri("/v1/videos", UriKind.Relative), content, cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"POST /v1/videos answered {(int)response.StatusCode}.");
            }

            if (i >= 0)
            {
                times[i] = elapsed;
            }
        }

        return Sorted(times);
    }

    private static void PrintRow(string name, double[] sorted) =>
        Report.Line(
            Report.Pad(name, 34)
            + Report.Pad(Report.Ms(Report.Percentile(sorted, 50)), 12)
            + Report.Pad(Report.Ms(Report.Percentile(sorted, 90)), 12)
            + Report.Pad(Report.Ms(Report.Percentile(sorted, 99)), 12)
            + Report.Pad(Report.Ms(Report.Percentile(sorted, 99.9)), 12)
            + Report.Ms(sorted[^1]));

    private static string Signed(double milliseconds) => (milliseconds >= 0 ? "+" : "-") + Report.Ms(Math.Abs(milliseconds));

    private static double[] Sorted(double[] values)
    {
        var copy = values.ToArray();
        Array.Sort(copy);
        return copy;
    }
}
