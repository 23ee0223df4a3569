using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Catalog;
using Reelay.Engine;
using Reelay.Routing;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Storage;

namespace Reelay.Bench.Support;

/// <summary>
/// The real engine pieces, wired by hand around a given store and provider: the shipped catalog, local result storage,
/// <see cref="DeploymentRouter"/>, a started <see cref="JobScheduler"/> and <see cref="JobEngine"/>. Logging is off
/// (a NullLogger), so the figures do not depend on where logs go. Stops the scheduler on dispose.
/// </summary>
internal sealed class BenchEngine : IAsyncDisposable
{
    private readonly GuardedHttpClient _http;

    private BenchEngine(JobScheduler scheduler, JobEngine engine, GuardedHttpClient http)
    {
        Scheduler = scheduler;
        Engine = engine;
        _http = http;
    }

    public JobScheduler Scheduler { get; }

    public JobEngine Engine { get; }

    /// <summary>A text-to-video request for the sandbox model, as a dialect would pass it to the engine.</summary>
    public static JobRequest TextToVideoRequest { get; } = new()
    {
        Model = DeploymentRouter.SandboxModel,
        Mode = VideoMode.TextToVideo,
        Prompt = "A lighthouse on a cliff at dawn, waves rolling in, slow aerial push-in, warm light",
        DurationSeconds = 4,
        Size = "1280x720",
        Owner = Caller.AdminKeyId,
        Dialect = "openai",
    };

    /// <param name="store">The job store, already initialized.</param>
    /// <param name="provider">The one provider, named "sandbox".</param>
    /// <param name="dataDirectory">Where the scheduler and result store keep their files.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<BenchEngine> StartAsync(IJobStore store, IVideoProvider provider, string dataDirectory, CancellationToken cancellationToken)
    {
        var options = new ReelayOptions { DataDirectory = dataDirectory };
        var results = new LocalResultStore(Path.Combine(options.DataPath, "files"));
        var router = DeploymentRouter.SandboxOnly([provider], options);
        var scheduler = new JobScheduler(store, results, router, new UnusedMediaInspector(), TimeProvider.System, options, NullLogger<JobScheduler>.Instance);
        var http = new GuardedHttpClient(new AddressPolicy(), TimeProvider.System);
        var engine = new JobEngine(store, results, ModelCatalog.Load(), router, new InputImageLoader(http, options), scheduler, TimeProvider.System, options);
        await scheduler.StartAsync(cancellationToken);
        return new BenchEngine(scheduler, engine, http);
    }

    public async ValueTask DisposeAsync()
    {
        await Scheduler.DisposeAsync();
        _http.Dispose();
    }
}
