using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Catalog;
using Reelay.Cluster;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Routing;
using Reelay.Storage;
using Reelay.Tests.Engine;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Cluster;

/// <summary>
/// Several engine nodes in one process, as several `reelay serve` processes on one database would be: one shared store
/// (each node reads it through its own read cache), shared job claims, shared provider slots and one signal bus. Each
/// node has its own fake provider instance (its own adapter), all named "sandbox".
/// </summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    private readonly GuardedHttpClient _http;

    private ClusterHarness(FakeTimeProvider clock)
    {
        Clock = clock;
        _http = new GuardedHttpClient(new AddressPolicy(), clock);
        Claims = new InProcessJobClaims(Store);
    }

    public FakeTimeProvider Clock { get; }

    public InMemoryJobStore Store { get; } = new();

    public InProcessJobClaims Claims { get; }

    public InMemoryProviderSlots Slots { get; } = new();

    public InProcessSignalBus Bus { get; } = new();

    public InMemoryResultStore Results { get; } = new();

    public List<Node> Nodes { get; } = [];

    /// <summary>Starts <paramref name="count"/> nodes; <paramref name="setup"/> configures each node's provider.</summary>
    public static async Task<ClusterHarness> StartAsync(int count, Action<FakeProvider>? setup = null)
    {
        var harness = new ClusterHarness(EngineHarness.NewClock());
        for (var i = 0; i < count; i++)
        {
            await harness.AddNodeAsync($"node-{i}", setup);
        }

        return harness;
    }

    public async Task<Node> AddNodeAsync(string nodeId, Action<FakeProvider>? setup)
    {
        var options = new ReelayOptions { DataDirectory = Path.Combine(Path.GetTempPath(), "reelay-cluster-" + Guid.NewGuid().ToString("N")) };
        options.Engine.NodeId = nodeId;
        options.Engine.ClaimLease = TimeSpan.FromSeconds(6);
        options.Engine.SubmitRetryDelay = TimeSpan.FromSeconds(2);
        var provider = new FakeProvider(Clock);
        setup?.Invoke(provider);
        var cache = new CachingJobStore(Store, 1000);
        var signals = new InProcessClusterSignals(nodeId, Bus);
        var changes = new ClusterJobChanges(signals, cache);
        var router = new DeploymentRouter([provider], new Dictionary<string, IReadOnlyList<Deployment>>(), options.Sandbox.StandInFor);
        var transitions = new JobTransitions(cache, Clock, new JobObservers([changes]));
        var scheduler = new JobScheduler(cache, Results, router, new FakeMediaInspector(), Clock, options, NullLogger<JobScheduler>.Instance, transitions, Claims, signals: signals, changes: changes, slots: Slots);
        var engine = new JobEngine(cache, Results, ModelCatalog.Load(), router, new InputImageLoader(_http, options), scheduler, Clock, options);
        var node = new Node(nodeId, options, provider, cache, signals, changes, scheduler, engine);
        Nodes.Add(node);
        await scheduler.StartAsync(CancellationToken.None);
        return node;
    }

    /// <summary>Every node's provider's submits.</summary>
    public IEnumerable<string> AllSubmits => Nodes.SelectMany(n => n.Provider.Submits.Select(s => s.JobId));

    /// <summary>Waits (at most 15 s of real time) until <paramref name="condition"/> holds, advancing the clock by <paramref name="step"/> (when given) between checks.</summary>
    public Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? step = null) =>
        Eventually.TrueAsync(condition, what, Clock, step);

    public async Task<Job> GetAsync(string id) => (await Store.GetAsync(id, CancellationToken.None))!;

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        _http.Dispose();
    }

    public sealed record Node(string Id, ReelayOptions Options, FakeProvider Provider, CachingJobStore Cache, InProcessClusterSignals Signals, ClusterJobChanges Changes, JobScheduler Scheduler, JobEngine Engine) : IAsyncDisposable
    {
        private int _disposed;

        public Task<Job> SubmitAsync(string prompt = "a red kite over hills") =>
            Engine.SubmitAsync(new JobRequest { Model = "sandbox", Prompt = prompt, DurationSeconds = 4, Size = "320x240", Owner = Caller.AdminKeyId }, CancellationToken.None);

        /// <summary>Stops as a killed process would: it leaves the bus first, so it hands nothing over and tells nobody.</summary>
        public async Task CrashAsync()
        {
            await Signals.DisposeAsync();
            await DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await Scheduler.DisposeAsync();
            Changes.Dispose();
            await Signals.DisposeAsync();
            try
            {
                Directory.Delete(Options.DataDirectory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}

/// <summary>A hand-written <see cref="IProviderSlots"/> shared by the nodes of a <see cref="ClusterHarness"/>, with the same rules as the PostgreSQL one; it records the most slots ever taken at once.</summary>
public sealed class InMemoryProviderSlots : IProviderSlots
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Provider, DateTimeOffset At)> _taken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _peak = new(StringComparer.Ordinal);

    public bool IsShared => true;

    public int PeakOf(string provider) => _peak.GetValueOrDefault(provider);

    public int TakenOf(string provider)
    {
        lock (_gate)
        {
            return _taken.Values.Count(t => t.Provider == provider);
        }
    }

    public Task<bool> TryAcquireAsync(string provider, string jobId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!(_taken.TryGetValue(jobId, out var held) && held.Provider == provider) && _taken.Values.Count(t => t.Provider == provider) >= limit)
            {
                return Task.FromResult(false);
            }

            _taken[jobId] = (provider, DateTimeOffset.UtcNow);
            Peak(provider);
            return Task.FromResult(true);
        }
    }

    public Task HoldAsync(string provider, string jobId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _taken[jobId] = (provider, DateTimeOffset.UtcNow);
            Peak(provider);
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string provider, string jobId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_taken.TryGetValue(jobId, out var taken) && taken.Provider == provider)
            {
                _taken.Remove(jobId);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ProviderSlot>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ProviderSlot>>([.. _taken.Select(t => new ProviderSlot(t.Value.Provider, t.Key, t.Value.At))]);
        }
    }

    private void Peak(string provider)
    {
        var now = _taken.Values.Count(t => t.Provider == provider);
        _peak.AddOrUpdate(provider, now, (_, old) => Math.Max(old, now));
    }
}
