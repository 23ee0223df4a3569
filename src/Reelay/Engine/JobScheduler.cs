using Microsoft.Extensions.Logging;
using Reelay.Cluster;
using Reelay.Jobs;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// The engine's coordinator. It wires the parts and hands each piece of due work to the one that owns it:
/// <see cref="ProviderLanes"/> (a queue and slots per provider instance; a free slot starts a submit),
/// <see cref="JobSubmitter"/> (submit, then <see cref="SubmitPolicy"/>), <see cref="JobPoller"/> (poll, then
/// <see cref="PollPolicy"/> and <see cref="ResultFinalizer"/>), <see cref="Deadlines"/>, <see cref="CrashRecovery"/>
/// (<see cref="SubmitRecovery"/> for a job caught mid-submit) and <see cref="ClaimLoop"/> (leases through
/// <see cref="IJobClaims"/>). Every change of a job goes through <see cref="JobTransitions"/>. Its memory
/// (<see cref="DueWork"/>, the lanes) is a cache of the store, rebuilt from it at start-up.
/// <para>
/// With several nodes on one database (<see cref="IClusterSignals.IsShared"/>), a node works only on jobs it holds a
/// claim on (a new job is claimed before it joins a lane), hears other nodes' changes (a cancel or delete of a job it
/// works on makes it leave its lane here too), runs a claim round at once when woken, and takes a provider's slots from
/// <see cref="IProviderSlots"/> so that a provider's concurrency limit holds for all nodes together.
/// </para>
/// </summary>
public sealed class JobScheduler : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly EngineOptions _options;
    private readonly string _tempDirectory;
    private readonly ResultFinalizer _finalizer;
    private readonly BackgroundWork _work;
    private readonly ProviderLanes _lanes;
    private readonly DueWork _due;
    private readonly JobSubmitter _submitter;
    private readonly JobPoller _poller;
    private readonly Deadlines _deadlines;
    private readonly CrashRecovery _recovery;
    private readonly ClaimLoop _claimLoop;
    private readonly ILogger _log;
    private readonly PollHints _hints;
    private readonly IClusterSignals _signals;
    private readonly ClusterJobChanges? _changes;
    private readonly IJobClaims _claims;
    private readonly IJobStore _store;
    private readonly List<IDisposable> _subscriptions = [];

    /// <summary>Creates the scheduler.</summary>
    public JobScheduler(IJobStore store, IResultStore results, IJobRouter router, IMediaInspector media, TimeProvider time, ReelayOptions options, ILogger<JobScheduler> logger, JobTransitions? transitions = null, IJobClaims? claims = null, ProviderCircuits? circuits = null,
        IClusterSignals? signals = null, ClusterJobChanges? changes = null, IProviderSlots? slots = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(router);
        _time = time;
        _log = logger;
        _options = options.Engine;
        _tempDirectory = Path.Combine(options.DataPath, "tmp");
        Transitions = transitions ?? new JobTransitions(store, time);
        _work = new BackgroundWork(logger);
        _finalizer = new ResultFinalizer(results, media, Transitions, time, options, logger);
        var calls = new ProviderCalls(results, time, _options.UpstreamCallTimeout, _work.Stopping, media, _tempDirectory);
        _due = new DueWork(time, (item, at) => _work.Spawn(item.JobId, () => OnDueAsync(item, at)));

        // The lanes start submits and the submitter moves jobs between lanes: _submitter is set below, before any job can
        // get a slot (Admit and StartAsync come after the constructor).
        _signals = signals ?? new InProcessClusterSignals(_options.NodeId);
        _changes = changes;
        _store = store;
        var sharedSlots = slots ?? LocalProviderSlots.Instance;
        _lanes = new ProviderLanes(router.Providers, _options, (id, lane) => _submitter!.SubmitAsync(id, lane), calls, _work, logger, sharedSlots, _signals);
        _claims = claims ?? store as IJobClaims ?? new InProcessJobClaims(store);
        var context = new SchedulerContext(store, Transitions, _claims, time, _options, logger, _lanes, _due, calls, _work, _signals, sharedSlots);
        _hints = new PollHints(time);
        _submitter = new JobSubmitter(context, router, circuits);
        _deadlines = new Deadlines(context, _finalizer.IsFinalizing);
        _poller = new JobPoller(context, _finalizer, _deadlines, _hints);
        _recovery = new CrashRecovery(context, _submitter, _deadlines);
        _claimLoop = new ClaimLoop(context, _recovery);
    }

    /// <summary>The write path every change of a job goes through.</summary>
    public JobTransitions Transitions { get; }

    /// <summary>
    /// Claims the unfinished jobs that are due (after a restart, this node's own jobs are due at once: nothing it held is
    /// being worked on any more), resumes them, and starts the due-work loop and the claim loop.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_tempDirectory);
        if (_changes is not null)
        {
            _changes.RemoteChanged += OnRemoteChanged;
        }

        _subscriptions.Add(_signals.Subscribe(ClusterChannels.Wake, _ => _claimLoop.Wake()));
        _signals.Resynchronize += OnResynchronize;
        _subscriptions.Add(_signals.Subscribe(ClusterChannels.SlotFreed, signal =>
        {
            if (_lanes.Of(signal.Payload) is { } lane)
            {
                _lanes.Unpark(lane);
            }
        }));
        var claimed = await _claimLoop.ClaimAtStartAsync(cancellationToken).ConfigureAwait(false);
        await _recovery.ResumeAsync(claimed, lookUpRunning: false, cancellationToken).ConfigureAwait(false);
        _work.RunLoop(_due.RunAsync);
        _work.RunLoop(_claimLoop.RunAsync);
    }

    /// <summary>
    /// Stops the loops and waits for in-flight work. Jobs keep their stored state and continue after the next start; with
    /// several nodes, this node's claims are given up and the others woken, so they take its jobs over at once (a drain).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        _subscriptions.Clear();
        if (_changes is not null)
        {
            _changes.RemoteChanged -= OnRemoteChanged;
        }

        _signals.Resynchronize -= OnResynchronize;
        await _work.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_signals.IsShared)
        {
            await HandOverAsync().ConfigureAwait(false);
        }
    }

    private async Task HandOverAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _claims.ReleaseClaimsAsync(_options.NodeId, timeout.Token).ConfigureAwait(false);
            _signals.Publish(ClusterChannels.Wake, "");
            EngineLog.HandedOver(_log, _options.NodeId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The leases run out instead: the other nodes take the jobs over a lease later.
            EngineLog.ClaimLoopFailed(_log, ex);
        }
    }

    private void OnResynchronize() => _claimLoop.Wake();

    /// <summary>Another node changed a job: when it ended there (a cancel or delete through that node) and this node works on it, leave its lane here too.</summary>
    private void OnRemoteChanged(string jobId, long version)
    {
        if (!_lanes.Knows(jobId))
        {
            return;
        }

        _work.Spawn(jobId, async () =>
        {
            var job = await _store.GetAsync(jobId, _work.Stopping).ConfigureAwait(false);
            if (job is not null && (job.Status.IsTerminal() || job.DeletedAt is not null))
            {
                _lanes.Leave(job);
            }
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_work.IsStopping)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _work.Dispose();
        _finalizer.Dispose();
    }

    /// <summary>Jobs waiting in a provider queue, jobs holding a slot, and due-work entries, for diagnostics and benchmarks.</summary>
    public (int Queued, int Active, int Timers) Counts()
    {
        var (queued, holding) = _lanes.Counts();
        return (queued, holding, _due.Count);
    }

    /// <summary>
    /// Puts a newly stored (or recovered) queued job in its provider's queue and its deadline on the clock. Its claim is
    /// taken by the next claim round, in a batch with the others admitted meanwhile (one write for many submits).
    /// </summary>
    public void Admit(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var lane = _lanes.Of(job.Provider) ?? throw new InvalidOperationException($"No provider lane '{job.Provider}'.");
        if (_signals.IsShared)
        {
            // Several nodes: claim it before working on it, or another node's claim round (which takes jobs never claimed)
            // could take it too, and keep renewing a claim on a job it does not work on.
            _work.Spawn(job.Id, async () =>
            {
                if (await _claims.TryClaimAsync(job.Id, _options.NodeId, _time.GetUtcNow(), _options.ClaimLease, _work.Stopping).ConfigureAwait(false))
                {
                    _deadlines.Watch(job);
                    _lanes.Enqueue(job, lane, front: false);
                }
            });
            return;
        }

        _deadlines.Watch(job);
        _lanes.Enqueue(job, lane, front: false);
    }

    /// <summary>1-based position in the provider queue, or null when the job is not waiting in one. O(log n): no walk.</summary>
    public int? QueuePosition(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Status == JobStatus.Queued && _lanes.Of(job.Provider) is { } lane ? lane.PositionOf(job.Id) : null;
    }

    /// <summary>Cancels a job in any non-terminal state; returns the stored result (unchanged when already terminal).</summary>
    public async Task<Job> CancelAsync(string jobId, JobError reason, CancellationToken cancellationToken)
    {
        var (updated, current) = await Transitions.TryAsync(
            jobId,
            j => !j.Status.IsTerminal(),
            j => j with { Status = JobStatus.Cancelled, Error = reason, CompletedAt = _time.GetUtcNow() },
            cancellationToken).ConfigureAwait(false);
        if (updated is null)
        {
            return current ?? throw ReelayException.JobNotFound(jobId);
        }

        EngineLog.JobCancelled(_log, jobId);
        _lanes.Leave(updated);
        return updated;
    }

    /// <summary>
    /// A hint that <paramref name="jobId"/> changed upstream (a provider callback): poll it now, once, beside its own
    /// schedule, which continues as the backstop. Ignored (false) for a job this node does not hold, and for a second hint
    /// of the same job within <see cref="PollHints.MinInterval"/>. The poll's answer is the truth; the hint carries none.
    /// </summary>
    public bool PollNow(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        if (!_lanes.Knows(jobId) || !_hints.TryAccept(jobId))
        {
            return false;
        }

        _due.Add(new DueItem(jobId, DueKind.Hint, 0), _time.GetUtcNow());
        return true;
    }

    private Task OnDueAsync(DueItem item, DateTimeOffset due) => item.Kind switch
    {
        DueKind.Poll or DueKind.Hint => _poller.PollOrRescheduleAsync(item, due),
        DueKind.Deadline => _deadlines.OnDueAsync(item.JobId),
        DueKind.Recover => _recovery.OnDueAsync(item.JobId),
        _ => _claimLoop.OnResubmitDueAsync(item.JobId),
    };
}
