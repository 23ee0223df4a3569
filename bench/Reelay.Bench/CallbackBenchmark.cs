using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reelay.Bench.Support;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Seedance;
using Reelay.Engine;
using Reelay.Jobs;

namespace Reelay.Bench;

/// <summary>
/// The callback shortcut: N jobs on a real gateway against the Seedance EMULATOR, whose tasks finish at a time it records.
/// Measured per job: from that upstream completion to the client's notification (the job's completed webhook arriving
/// at a receiver on loopback), once with callbacks (the emulator calls the job's URL when its task ends, and the gateway
/// polls at once) and once without (polling alone, with the instance's default schedule: 5 s growing to 30 s).
/// </summary>
internal static partial class CallbackBenchmark
{
    public static async Task RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.CallbackJobs;
        Report.Heading($"8. Callbacks: {n} jobs against the Seedance EMULATOR, upstream completion to the client's webhook, with and without callbacks");
        await using var receiver = await WebhookReceiver.StartAsync(cancellationToken);
        var without = await MeasureAsync(options, receiver, callbacks: false, cancellationToken);
        var with = await MeasureAsync(options, receiver, callbacks: true, cancellationToken);

        Report.Line($"Each emulated task waits 1 s, then runs {options.CallbackRunSeconds} s; jobs are submitted {options.CallbackSpacingMs} ms apart; polls start at 5 s and grow by 1.5x to 30 s, with 20 % jitter (the defaults).");
        foreach (var (name, m) in new[] { ("without callbacks (polling only)", without), ("with callbacks", with) })
        {
            Report.Line($"{name}: {m.Notified} of {n} notified; upstream completion to webhook p50 {Report.Ms(m.P50)}, p99 {Report.Ms(m.P99)}, max {Report.Ms(m.Max)}; callbacks sent {m.CallbacksSent}.");
        }

        Report.Line();
        Report.Result("Completion to notification p50, with callbacks", Report.Ms(with.P50), $"without {Report.Ms(without.P50)}", with.P50 / without.P50, "< 1", with.P50 < without.P50);
        Report.Result("Completion to notification p99, with callbacks", Report.Ms(with.P99), $"without {Report.Ms(without.P99)}", with.P99 / without.P99, "< 1", with.P99 < without.P99);
    }

    private static async Task<Measured> MeasureAsync(BenchOptions options, WebhookReceiver receiver, bool callbacks, CancellationToken cancellationToken)
    {
        var n = options.CallbackJobs;
        await using var ark = new SeedanceEmulator(new EmulatorOptions
        {
            ApiKey = "bench-ark-key-0123456789",
            QueueTime = TimeSpan.FromSeconds(1),
            RunTime = TimeSpan.FromSeconds(options.CallbackRunSeconds),
        });
        await ark.StartAsync(cancellationToken: cancellationToken);

        // The gateway's public base URL must be known before it starts: a free loopback port, taken by the gateway.
        var port = FreePort();
        await using var gateway = await ReelayGateway.StartAsync(
            new Dictionary<string, string?>
            {
                ["urls"] = $"http://127.0.0.1:{port}",
                ["Reelay:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
                ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1/32",
                ["Reelay:Providers:ark:Type"] = "seedance",
                ["Reelay:Providers:ark:BaseUrl"] = ark.ApiBaseUrl.AbsoluteUri,
                ["Reelay:Providers:ark:ApiKey"] = "bench-ark-key-0123456789",
                ["Reelay:Providers:ark:MaxConcurrentJobs"] = n.ToString(CultureInfo.InvariantCulture),
                ["Reelay:Providers:ark:MaxRequestsPerSecond"] = "0",
                ["Reelay:Providers:ark:Callbacks:Enabled"] = callbacks ? "true" : "false",
                ["Reelay:Routes:seedance-2-0:0:Provider"] = "ark",
            },
            cancellationToken);
        if (gateway.BaseAddress.Port != port)
        {
            throw new InvalidOperationException($"The gateway listens on {gateway.BaseAddress}, not on the public base URL's port {port}.");
        }

        var engine = gateway.Services.GetRequiredService<JobEngine>();
        var ids = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            var job = await engine.SubmitAsync(
                new JobRequest
                {
                    Model = "seedance-2-0",
                    Prompt = $"callback benchmark job {i}",
                    Size = "864x496",
                    DurationSeconds = 4,
                    Owner = Caller.AdminKeyId,
                    WebhookUrl = receiver.Url.AbsoluteUri,
                    WebhookEvents = ["video.completed"],
                },
                cancellationToken);
            ids.Add(job.Id);
            await Task.Delay(options.CallbackSpacingMs, cancellationToken);
        }

        var until = DateTime.UtcNow.AddSeconds(options.CallbackRunSeconds + 120);
        while (ids.Any(id => !receiver.Arrivals.ContainsKey(id)) && DateTime.UtcNow < until)
        {
            await Task.Delay(200, cancellationToken);
        }

        // Upstream completion: the emulator's task end (its clock is the system clock, as the receiver's).
        var delays = new List<double>();
        foreach (var id in ids)
        {
            var job = await engine.GetAsync(id, Caller.Admin, cancellationToken);
            var task = job.UpstreamId is { } upstream ? ark.Tasks.Find(upstream) : null;
            if (task?.FinishedAt(DateTimeOffset.MaxValue) is { } completed && receiver.Arrivals.TryGetValue(id, out var arrived))
            {
                delays.Add((arrived - completed).TotalMilliseconds);
            }
        }

        var sorted = delays.Order().ToArray();
        return new Measured(
            sorted.Length,
            sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 50),
            sorted.Length == 0 ? double.NaN : Report.Percentile(sorted, 99),
            sorted.Length == 0 ? double.NaN : sorted[^1],
            ark.Callbacks.Sent.Count);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Measured(int Notified, double P50, double P99, double Max, int CallbacksSent);

    /// <summary>A client's webhook endpoint on loopback: records when each job's first webhook arrived.</summary>
    private sealed partial class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private WebhookReceiver(WebApplication app, Uri url)
        {
            _app = app;
            Url = url;
        }

        public Uri Url { get; }

        public ConcurrentDictionary<string, DateTimeOffset> Arrivals { get; } = new(StringComparer.Ordinal);

        public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            WebhookReceiver? self = null;
            app.MapPost("/hook", async (HttpContext context) =>
            {
                var at = DateTimeOffset.UtcNow;
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync(context.RequestAborted);
                if (JobId().Match(body) is { Success: true } match)
                {
                    self!.Arrivals.TryAdd(match.Value, at);
                }

                return TypedResults.Ok();
            });
            await app.StartAsync(cancellationToken);
            var address = app.Urls.First();
            self = new WebhookReceiver(app, new Uri(new Uri(address), "/hook"));
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        [GeneratedRegex("video_[0-9a-f]{32}")]
        private static partial Regex JobId();
    }
}
