using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Catalog;
using Reelay.Engine;
using Reelay.Routing;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Storage;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Engine;

/// <summary>The engine wired to fakes and a manual clock; <see cref="RestartAsync"/> simulates a process restart on the same store.</summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private readonly GuardedHttpClient _http;
    private Func<IJobClaims, IJobClaims>? _wrapClaims;

    private EngineHarness(FakeTimeProvider clock, InMemoryJobStore store, FakeProvider provider, ReelayOptions options)
    {
        Clock = clock;
        Store = store;
        Provider = provider;
        Options = options;
        _http = new GuardedHttpClient(new AddressPolicy(), clock);
        Claims = new InProcessJobClaims(store);
        Scheduler = null!;
        Engine = null!;
    }

    /// <summary>Job claims shared by every scheduler this harness starts, as a shared store keeps them for several nodes.</summary>
    public InProcessJobClaims Claims { get; }

    public FakeTimeProvider Clock { get; }

    public InMemoryJobStore Store { get; }

    public InMemoryResultStore Results { get; } = new();

    public FakeMediaInspector Media { get; } = new();

    public FakeProvider Provider { get; }

    /// <summary>More provider instances, routed to by <see cref="Routes"/>.</summary>
    public List<FakeProvider> Others { get; } = [];

    /// <summary>Deployments per public model (empty: the sandbox only).</summary>
    public Dictionary<string, IReadOnlyList<Deployment>> Routes { get; } = new(StringComparer.Ordinal);

    public ReelayOptions Options { get; }

    public JobScheduler Scheduler { get; private set; }

    public JobEngine Engine { get; private set; }

    /// <summary>Every change the engine reported, in order.</summary>
    public RecordingObserver Observer { get; } = new();

    /// <summary>Starts with the sandbox-named fake plus <paramref name="others"/>, and <paramref name="routes"/> for public models.</summary>
    public static async Task<EngineHarness> StartRoutedAsync(FakeTimeProvider clock, IEnumerable<FakeProvider> others, Dictionary<string, IReadOnlyList<Deployment>> routes, Action<ReelayOptions>? configure = null)
    {
        var options = new ReelayOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "reelay-engine-" + Guid.NewGuid().ToString("N")) };
        options.Engine.SubmitRetryDelay = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
        var harness = new EngineHarness(clock, new InMemoryJobStore(), new FakeProvider(clock), options);
        harness.Others.AddRange(others);
        foreach (var (model, deployments) in routes)
        {
            harness.Routes[model] = deployments;
        }

        await harness.BootAsync();
        return harness;
    }

    public static async Task<EngineHarness> StartAsync(Action<FakeProvider>? setup = null, Action<ReelayOptions>? configure = null, Func<IJobClaims, IJobClaims>? wrapClaims = null)
    {
        var clock = NewClock();
        var options = new ReelayOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "reelay-engine-" + Guid.NewGuid().ToString("N")) };
        options.Engine.SubmitRetryDelay = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
        var provider = new FakeProvider(clock);
        setup?.Invoke(provider);
        var harness = new EngineHarness(clock, new InMemoryJobStore(), provider, options) { _wrapClaims = wrapClaims };
        await harness.BootAsync();
        return harness;
    }

    private async Task BootAsync()
    {
        var router = new DeploymentRouter([Provider, .. Others], Routes, Options.Sandbox.StandInFor);
        var transitions = new JobTransitions(Store, Clock, new JobObservers([Observer, new ThrowingObserver()]));
        Scheduler = new JobScheduler(Store, Results, router, Media, Clock, Options, NullLogger<JobScheduler>.Instance, transitions, _wrapClaims?.Invoke(Claims) ?? Claims);
        Engine = new JobEngine(Store, Results, ModelCatalog.Load(), router, new InputImageLoader(_http, Options), Scheduler, Clock, Options);
        await Scheduler.StartAsync(CancellationToken.None);
    }

    /// <summary>Stops the scheduler as a process exit would and starts a fresh one on the same store and provider.</summary>
    public async Task RestartAsync()
    {
        await Scheduler.DisposeAsync();
        await BootAsync();
    }

    public Task<Job> SubmitModelAsync(string model, int seconds = 4, string size = "1280x720") =>
        Engine.SubmitAsync(new JobRequest { Model = model, Prompt = "a red kite over hills", DurationSeconds = seconds, Size = size, Owner = Caller.AdminKeyId }, CancellationToken.None);

    public Task<Job> SubmitAsync(string prompt = "a red kite over hills", int seconds = 4) =>
        Engine.SubmitAsync(new JobRequest { Model = "sandbox", Prompt = prompt, DurationSeconds = seconds, Size = "320x240", Owner = Caller.AdminKeyId }, CancellationToken.None);

    public async Task<Job> GetAsync(string id) => (await Store.GetAsync(id, CancellationToken.None))!;

    /// <summary>The engine tests' clock: Microsoft's FakeTimeProvider, starting at a fixed instant.</summary>
    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    public Task WaitForAsync(string id, Func<Job, bool> condition, string what, TimeSpan? step = null) =>
        EventuallyAsync(async () => condition(await GetAsync(id)), what, step ?? TimeSpan.FromMilliseconds(250));

    public Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? step = null) =>
        EventuallyAsync(() => Task.FromResult(condition()), what, step);

    /// <summary>Waits (at most 15 s of real time) until <paramref name="condition"/> holds, advancing the clock by <paramref name="step"/> (when given) between checks.</summary>
    public Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? step = null) =>
        Eventually.TrueAsync(condition, what, Clock, step);

    public async ValueTask DisposeAsync()
    {
        await Scheduler.DisposeAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(Options.DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

/// <summary>Records every reported change.</summary>
public sealed class RecordingObserver : IJobObserver
{
    private readonly Lock _gate = new();
    private readonly List<(Job? Previous, Job Current)> _changes = [];

    public IReadOnlyList<(Job? Previous, Job Current)> Changes
    {
        get
        {
            lock (_gate)
            {
                return [.. _changes];
            }
        }
    }

    public void OnJobChanged(Job? previous, Job current)
    {
        lock (_gate)
        {
            _changes.Add((previous, current));
        }
    }
}

/// <summary>An observer that always throws: the engine must not notice.</summary>
public sealed class ThrowingObserver : IJobObserver
{
    public void OnJobChanged(Job? previous, Job current) => throw new InvalidOperationException("observer failure (test)");
}
