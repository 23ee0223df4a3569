using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Reelay.Cluster;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// The engine's coordinator. It keeps one <see cref="ProviderLane"/> per provider instance and a <see cref="DueWork"/>
/// cache of polls, deadlines and retries, calls the providers, and applies what the pure policies decide
/// (<see cref="SubmitPolicy"/>, <see cref="PollPolicy"/>, <see cref="SubmitRecovery"/>) through the single write path
/// (<see cref="JobTransitions"/>); <see cref="ResultFinalizer"/> stores results. Its memory is a cache of the store:
/// it is rebuilt from the store at start-up.
/// <para>
/// With several nodes on one database (<see cref="IClusterSignals.IsShared"/>), a node works only on jobs it holds a
/// claim on (a new job is claimed before it joins a lane), hears other nodes' changes (a cancel or delete of a job it
/// works on makes it leave its lane here too), runs a claim round at once when woken, and takes a provider's slots from
/// <see cref="IProviderSlots"/> so that a provider's concurrency limit holds for all nodes together.
/// </para>
/// </summary>
public sealed class JobScheduler : IAsyncDisposable
{
    private readonly IJobStore _store;
    private readonly IJobRouter _router;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly EngineOptions _options;
    private readonly string _tempDirectory;
    private readonly ResultFinalizer _finalizer;
    private readonly ProviderCalls _calls;
    private readonly IJobClaims _claims;
    private readonly Dictionary<string, ProviderLane> _lanes = new(StringComparer.Ordinal);
    private readonly DueWork _due;
    private readonly UpstreamIdClaims _upstreamIds = new();
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly IClusterSignals _signals;
    private readonly ClusterJobChanges? _changes;
    private readonly IProviderSlots _slots;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _claimRounds;
    private Task? _loop;
    private Task? _claimLoop;

    /// <summary>Creates the scheduler.</summary>
    public JobScheduler(IJobStore store, IResultStore results, IJobRouter router, IMediaInspector media, TimeProvider time, ReelayOptions options, ILogger<JobScheduler> logger, JobTransitions? transitions = null, IJobClaims? claims = null,
        IClusterSignals? signals = null, ClusterJobChanges? changes = null, IProviderSlots? slots = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(router);
        _store = store;
        _router = router;
        _time = time;
        _log = logger;
        _options = options.Engine;
        _tempDirectory = Path.Combine(options.DataPath, "tmp");
        Transitions = transitions ?? new JobTransitions(store, time);
        _claims = claims ?? store as IJobClaims ?? new InProcessJobClaims(store);
        _signals = signals ?? new InProcessClusterSignals(_options.NodeId);
        _changes = changes;
        _slots = slots ?? LocalProviderSlots.Instance;
        _finalizer = new ResultFinalizer(results, media, Transitions, time, options, logger);
        _calls = new ProviderCalls(results, time, _options.UpstreamCallTimeout, _stopping.Token);
        _due = new DueWork(time, (item, at) => Spawn(item.JobId, () => OnDueAsync(item, at)));
        foreach (var provider in router.Providers)
        {
            _lanes[provider.Name] = new ProviderLane(provider, _options.MaxConcurrentPollsPerProvider);
        }
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

        _subscriptions.Add(_signals.Subscribe(ClusterChannels.Wake, _ => _wake.Writer.TryWrite(true)));
        _signals.Resynchronize += OnResynchronize;
        _subscriptions.Add(_signals.Subscribe(ClusterChannels.SlotFreed, signal =>
        {
            if (LaneOf(signal.Payload) is { } lane && lane.Unpark())
            {
                Dispatch(lane);
            }
        }));
        await _claims.ReleaseClaimsAsync(_options.NodeId, cancellationToken).ConfigureAwait(false);
        var claimed = new List<Job>();
        IReadOnlyList<Job> batch;
        do
        {
            batch = await _claims.ClaimDueAsync(_options.NodeId, _time.GetUtcNow(), _options.ClaimLease, ClaimBatch, cancellationToken).ConfigureAwait(false);
            claimed.AddRange(batch);
        }
        while (batch.Count == ClaimBatch);

        await ResumeAsync(claimed, lookUpRunning: false, cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => _due.RunAsync(_stopping.Token), CancellationToken.None);
        _claimLoop = Task.Run(() => ClaimLoopAsync(_stopping.Token), CancellationToken.None);
    }

    private const int ClaimBatch = 1000;

    /// <summary>
    /// Every third of the lease: renews this node's claims in one write, then claims what became due meanwhile: jobs
    /// whose node died (lease expired), jobs released with a due time (a submit backoff), jobs nobody claimed.
    /// </summary>
    private async Task ClaimLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await WaitForClaimRoundAsync(ct).ConfigureAwait(false);
                var now = _time.GetUtcNow();
                if (_slots.IsShared)
                {
                    await SharedSlotsRoundAsync(ct).ConfigureAwait(false);
                }

                await _claims.RenewClaimsAsync(_options.NodeId, now, _options.ClaimLease, ct).ConfigureAwait(false);
                IReadOnlyList<Job> due;
                do
                {
                    due = await _claims.ClaimDueAsync(_options.NodeId, now, _options.ClaimLease, ClaimBatch, ct).ConfigureAwait(false);

                    // A job already in this node's lanes (admitted here since the last round, or a late renewal let its
                    // lease lapse) is claimed now, and is not an orphan to resume.
                    var orphans = due.Where(j => !_lanes.Values.Any(l => l.Knows(j.Id))).ToList();
                    await ResumeAsync(orphans, lookUpRunning: true, ct).ConfigureAwait(false);
                }
                while (due.Count == ClaimBatch);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                EngineLog.ClaimLoopFailed(_log, ex);
            }
        }
    }

    /// <summary>A third of the lease, or less when another node says there is work to claim (<see cref="ClusterChannels.Wake"/>).</summary>
    private async Task WaitForClaimRoundAsync(CancellationToken ct)
    {
        using var round = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(_options.ClaimLease / 3, _time, round.Token);
        var woken = _wake.Reader.WaitToReadAsync(round.Token).AsTask();
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await round.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        _wake.Reader.TryRead(out _);
    }

    /// <summary>
    /// Each round: lanes parked for want of a cluster-wide slot try again (a freed slot's signal may have been missed), and
    /// every 30 rounds the slots whose job ended without giving them back are swept.
    /// </summary>
    private async Task SharedSlotsRoundAsync(CancellationToken ct)
    {
        foreach (var lane in _lanes.Values)
        {
            if (lane.Unpark())
            {
                Dispatch(lane);
            }
        }

        if (++_claimRounds % 30 != 1)
        {
            return;
        }

        var settled = _time.GetUtcNow() - TimeSpan.FromMinutes(1);
        foreach (var slot in await _slots.ListAsync(ct).ConfigureAwait(false))
        {
            if (slot.AcquiredAt > settled)
            {
                continue; // A slot just taken may belong to a job whose submit is starting.
            }

            var job = await _store.GetAsync(slot.JobId, ct).ConfigureAwait(false);
            if (job is null || job.Status is JobStatus.Queued || job.Status.IsTerminal())
            {
                await _slots.ReleaseAsync(slot.Provider, slot.JobId, ct).ConfigureAwait(false);
                _signals.Publish(ClusterChannels.SlotFreed, slot.Provider);
            }
        }
    }

    private void OnResynchronize() => _wake.Writer.TryWrite(true);

    /// <summary>Another node changed a job: when it ended there (a cancel or delete through that node) and this node works on it, leave its lane here too.</summary>
    private void OnRemoteChanged(string jobId, long version)
    {
        if (!_lanes.Values.Any(l => l.Knows(jobId)))
        {
            return;
        }

        Spawn(jobId, async () =>
        {
            var job = await _store.GetAsync(jobId, _stopping.Token).ConfigureAwait(false);
            if (job is not null && (job.Status.IsTerminal() || job.DeletedAt is not null))
            {
                LeaveLane(job);
            }
        });
    }

    /// <summary>Whether <paramref name="lane"/>'s slots are counted across nodes (a local renderer's are this machine's own).</summary>
    private bool SharedSlots(ProviderLane lane) => _slots.IsShared && lane.Provider is not Providers.Sandbox.SandboxProvider;

    /// <summary>
    /// Takes over unfinished jobs claimed from the store: queued ones join their lane, the others get their slot back and
    /// continue; one caught in submitting follows <see cref="SubmitRecovery"/>. With <paramref name="lookUpRunning"/>, the
    /// upstream ids of every running job are read from the store for that recovery (they are not all among <paramref name="active"/>).
    /// </summary>
    private async Task ResumeAsync(IReadOnlyList<Job> active, bool lookUpRunning, CancellationToken cancellationToken)
    {
        ReelayTelemetry.JobsRecovered(active); // stored before this process claimed them, so no observer here heard them
        var submitting = active.Count(j => j.Status == JobStatus.Submitting);
        if (submitting > 0)
        {
            var running = lookUpRunning ? await _store.ListActiveAsync(cancellationToken).ConfigureAwait(false) : active;
            _upstreamIds.Begin(submitting, running.Where(j => j.Status == JobStatus.Running));
        }

        foreach (var job in active)
        {
            _due.Add(new DueItem(job.Id, DueKind.Deadline, 0), job.Deadline);

            // A submit caught in flight is looked up on the deployment it recorded, never on a new plan.
            var provider = job is { Status: JobStatus.Submitting, HasCallInFlight: true } ? job.SubmitCall!.Provider : job.Provider;
            if (provider is null || !_lanes.TryGetValue(provider, out var lane))
            {
                await FailAsync(job.Id, new JobError(ErrorCodes.UpstreamUnavailable, $"The provider '{provider}' that this job was routed to is no longer configured."), cancellationToken).ConfigureAwait(false);
                if (job.Status == JobStatus.Submitting)
                {
                    _upstreamIds.End();
                }

                continue;
            }

            switch (job.Status)
            {
                case JobStatus.Queued:
                    Enqueue(job, lane, front: false);
                    break;
                case JobStatus.Submitting:
                    await HoldAsync(lane, job.Id, cancellationToken).ConfigureAwait(false);
                    Spawn(job.Id, () => RecoverSubmittingAsync(job, lane));
                    break;
                case JobStatus.Running:
                    await HoldAsync(lane, job.Id, cancellationToken).ConfigureAwait(false);
                    _due.Add(new DueItem(job.Id, DueKind.Poll, 0), _time.GetUtcNow());
                    break;
            }
        }

        if (active.Count > 0)
        {
            EngineLog.Recovered(_log, active.Count, active.Count(j => j.Status == JobStatus.Queued), submitting, active.Count(j => j.Status == JobStatus.Running));
        }
    }

    /// <summary>A job taken over in submitting or running holds its lane slot, and its cluster-wide slot.</summary>
    private async Task HoldAsync(ProviderLane lane, string jobId, CancellationToken cancellationToken)
    {
        lane.Hold(jobId);
        if (SharedSlots(lane))
        {
            await _slots.HoldAsync(lane.Provider.Name, jobId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops the loop and waits for in-flight work. Jobs keep their stored state and continue after the next start; with
    /// several nodes, this node's claims are given up and the others woken, so they take its jobs over at once (a drain).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        if (_changes is not null)
        {
            _changes.RemoteChanged -= OnRemoteChanged;
        }

        _signals.Resynchronize -= OnResynchronize;
        await _stopping.CancelAsync().ConfigureAwait(false);
        var pending = _background.Keys.ToList();
        pending.AddRange(new[] { _loop, _claimLoop }.OfType<Task>());

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown deadline reached: stored state is consistent; what was in flight is recovered at next start.
        }

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

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _stopping.Dispose();
        _finalizer.Dispose();
    }

    /// <summary>Jobs waiting in a provider queue, jobs holding a slot, and due-work entries, for diagnostics and benchmarks.</summary>
    public (int Queued, int Active, int Timers) Counts()
    {
        int queued = 0, holding = 0;
        foreach (var lane in _lanes.Values)
        {
            var (q, h) = lane.Counts();
            queued += q;
            holding += h;
        }

        return (queued, holding, _due.Count);
    }

    /// <summary>
    /// Puts a newly stored (or recovered) queued job in its provider's queue and its deadline on the clock. Its claim is
    /// taken by the next claim round, in a batch with the others admitted meanwhile (one write for many submits).
    /// </summary>
    public void Admit(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var lane = LaneOf(job.Provider) ?? throw new InvalidOperationException($"No provider lane '{job.Provider}'.");
        if (_signals.IsShared)
        {
            // Several nodes: claim it before working on it, or another node's claim round (which takes jobs never claimed)
            // could take it too, and keep renewing a claim on a job it does not work on.
            Spawn(job.Id, async () =>
            {
                if (await _claims.TryClaimAsync(job.Id, _options.NodeId, _time.GetUtcNow(), _options.ClaimLease, _stopping.Token).ConfigureAwait(false))
                {
                    _due.Add(new DueItem(job.Id, DueKind.Deadline, 0), job.Deadline);
                    Enqueue(job, lane, front: false);
                }
            });
            return;
        }

        _due.Add(new DueItem(job.Id, DueKind.Deadline, 0), job.Deadline);
        Enqueue(job, lane, front: false);
    }

    /// <summary>1-based position in the provider queue, or null when the job is not waiting in one. O(log n): no walk.</summary>
    public int? QueuePosition(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Status == JobStatus.Queued && LaneOf(job.Provider) is { } lane ? lane.PositionOf(job.Id) : null;
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
        LeaveLane(updated);
        return updated;
    }

    private ProviderLane? LaneOf(string? provider) => provider is not null && _lanes.TryGetValue(provider, out var lane) ? lane : null;

    private void Enqueue(Job job, ProviderLane lane, bool front)
    {
        lane.Enqueue(job.Id, front);
        EngineLog.JobQueued(_log, job.Id, lane.Provider.Name, job.Model);
        Dispatch(lane);
    }

    private void Dispatch(ProviderLane lane)
    {
        foreach (var id in lane.TakeStartable() ?? [])
        {
            Spawn(id, () => SubmitAsync(id, lane));
        }
    }

    private void Release(ProviderLane lane, string jobId)
    {
        if (!lane.Release(jobId))
        {
            return;
        }

        if (SharedSlots(lane))
        {
            Spawn(jobId, () => ReleaseSharedSlotAsync(lane, jobId));
        }
        else
        {
            Dispatch(lane);
        }
    }

    private async Task ReleaseSharedSlotAsync(ProviderLane lane, string jobId)
    {
        try
        {
            await _slots.ReleaseAsync(lane.Provider.Name, jobId, CancellationToken.None).ConfigureAwait(false);
            _signals.Publish(ClusterChannels.SlotFreed, lane.Provider.Name);
        }
        finally
        {
            // A failed release is swept later; meanwhile this node's queue must not stall.
            lane.Unpark();
            Dispatch(lane);
        }
    }

    /// <summary>
    /// For a job that just became terminal outside the normal flow (cancel, deadline): takes it out of its provider queue,
    /// and frees its slot, after cancelling it upstream (in the background) when the upstream had accepted it.
    /// </summary>
    private void LeaveLane(Job ended)
    {
        if (LaneOf(ended.Provider) is not { } lane)
        {
            return;
        }

        if (lane.Leave(ended.Id) && ended.UpstreamId is not null)
        {
            Spawn(ended.Id, () => CancelUpstreamAsync(lane, ended));
        }
        else
        {
            Release(lane, ended.Id);
        }
    }

    private async Task CancelUpstreamAsync(ProviderLane lane, Job job)
    {
        try
        {
            using var call = _calls.Start();
            await lane.Provider.CancelAsync(_calls.For(job), call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "cancel", job.Id);
        }
        finally
        {
            Release(lane, job.Id);
        }
    }

    private async Task SubmitAsync(string jobId, ProviderLane lane)
    {
        var ct = _stopping.Token;
        if (SharedSlots(lane) && !await TryAcquireSharedSlotAsync(lane, jobId, ct).ConfigureAwait(false))
        {
            // Every slot of the provider is taken across the cluster: wait at the front until one is freed.
            lane.Park(jobId);
            return;
        }

        var job = (await Transitions.TryAsync(jobId, j => j.Status == JobStatus.Queued && j.DeletedAt is null, j => j with { Status = JobStatus.Submitting, SubmitAttempts = j.SubmitAttempts + 1 }, ct).ConfigureAwait(false)).Updated;
        if (job is null)
        {
            Release(lane, jobId);
            return;
        }

        using var span = ReelayTelemetry.StartSubmit(job, lane.Provider.Name);
        SubmitOutcome outcome;
        var attempt = job.SubmitAttempts;
        var reference = job.ClientReference(attempt);
        try
        {
            using var call = _calls.Start();

            // The call is recorded on the job right before its request leaves (after rate-limit waits and first-frame
            // work), so a restart can tell a job that never reached the upstream from one that may have.
            using var send = SubmitSend.Begin(token => RecordSubmitCallAsync(job, lane.Provider.Name, attempt, reference, token));
            try
            {
                outcome = await lane.Provider.SubmitAsync(_calls.For(job, reference), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamTimeout, $"The provider did not answer the submit within {_options.UpstreamCallTimeout.TotalSeconds:0} s."));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // Shutting down: the job stays 'submitting' and is recovered at the next start.
        }
        catch (SubmitAbandonedException)
        {
            Release(lane, jobId); // Cancelled (or failed by its deadline) before its request was sent: nothing went upstream.
            return;
        }
        catch (Exception ex)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "submit", jobId);
            outcome = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "The provider could not be reached."));
        }

        ReelayTelemetry.SubmitAnswered(span, outcome);
        var next = outcome is SubmitOutcome.Accepted ? null : _router.NextAfter(job);
        switch (SubmitPolicy.Decide(job, outcome, next, _options, Random.Shared.NextDouble()))
        {
            case SubmitDecision.Run run:
                await OnAcceptedAsync(job, lane, run.UpstreamId).ConfigureAwait(false);
                break;
            case SubmitDecision.FailOver failOver:
                EngineLog.FailedOver(_log, jobId, lane.Provider.Name, failOver.Next.Provider.Name, failOver.Reason.Code);
                await RequeueAsync(jobId, lane, failOver.Next, front: true, ct).ConfigureAwait(false);
                break;
            case SubmitDecision.Fail fail:
                await FailAsync(jobId, fail.Error, ct).ConfigureAwait(false);
                Release(lane, jobId);
                break;
            case SubmitDecision.RetryAfter retry:
                EngineLog.SubmitRetry(_log, jobId, lane.Provider.Name, retry.Delay, retry.Reason.Message);
                await RequeueAsync(jobId, lane, _router.First(job), front: false, ct).ConfigureAwait(false);

                // Due through the store (any node may take it then) and through this node's cache, whichever comes first.
                await _claims.ReleaseClaimAsync(jobId, _options.NodeId, _time.GetUtcNow() + retry.Delay, ct).ConfigureAwait(false);
                _due.Add(new DueItem(jobId, DueKind.Resubmit, 0), _time.GetUtcNow() + retry.Delay);
                break;
        }
    }

    private async Task<bool> TryAcquireSharedSlotAsync(ProviderLane lane, string jobId, CancellationToken ct)
    {
        try
        {
            return await _slots.TryAcquireAsync(lane.Provider.Name, jobId, lane.Provider.MaxConcurrentJobs, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            EngineLog.EngineError(_log, ex, jobId);
            return false; // Parked: the next claim round tries again.
        }
    }

    /// <summary>Durably records the submit call about to be sent; throws <see cref="SubmitAbandonedException"/> when the job is no longer being submitted.</summary>
    private async Task RecordSubmitCallAsync(Job job, string provider, int attempt, string reference, CancellationToken ct)
    {
        var recorded = await Transitions.TryAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting && j.SubmitAttempts == attempt && j.DeletedAt is null,
            j => j with { SubmitCall = new SubmitCall(attempt, provider, j.UpstreamModel ?? j.Model, reference, _time.GetUtcNow()) },
            ct).ConfigureAwait(false);
        if (!recorded.Applied)
        {
            throw new SubmitAbandonedException(job.Id);
        }
    }

    /// <summary>
    /// Puts a job that was being submitted back to queued, on <paramref name="route"/> when given, and frees its slot. With
    /// <paramref name="front"/> it joins the front of its (new) lane at once; otherwise a Resubmit entry brings it back.
    /// </summary>
    private async Task RequeueAsync(string jobId, ProviderLane lane, JobRoute? route, bool front, CancellationToken ct)
    {
        var moved = await Transitions.TryAsync(
            jobId,
            j => j.Status == JobStatus.Submitting,
            j => route is null ? j with { Status = JobStatus.Queued } : j with { Status = JobStatus.Queued, Provider = route.Provider.Name, UpstreamModel = route.UpstreamModel, Note = route.Note },
            ct).ConfigureAwait(false);
        Release(lane, jobId);
        if (front && moved.Updated is { } queued && LaneOf(queued.Provider) is { } target)
        {
            Enqueue(queued, target, front: true);
        }
    }

    private async Task OnAcceptedAsync(Job job, ProviderLane lane, string upstreamId)
    {
        EngineLog.JobAccepted(_log, job.Id, lane.Provider.Name, upstreamId);
        if (_upstreamIds.Active)
        {
            _upstreamIds.TryClaim(lane.Provider.Name, upstreamId, job.Id);
        }

        var running = await Transitions.TryAsync(
            job.Id,
            j => j.Status == JobStatus.Submitting,
            j => j with { Status = JobStatus.Running, UpstreamId = upstreamId, StartedAt = _time.GetUtcNow(), Progress = 0 },
            _stopping.Token).ConfigureAwait(false);
        if (!running.Applied)
        {
            // Cancelled (or failed by its deadline) while the submit was in flight: stop it upstream too.
            await CancelUpstreamAsync(lane, job with { UpstreamId = upstreamId }).ConfigureAwait(false);
            return;
        }

        _due.Add(new DueItem(job.Id, DueKind.Poll, 0), _time.GetUtcNow() + Backoff.PollInterval(lane.Provider.PollSchedule, 0, Random.Shared.NextDouble()));
    }

    private async Task RecoverSubmittingAsync(Job job, ProviderLane lane)
    {
        var ct = _stopping.Token;
        var step = SubmitRecovery.Plan(job);
        if (step is RecoveryStep.LookUp)
        {
            RecoveryOutcome outcome;
            try
            {
                using var call = _calls.Start();
                outcome = await lane.Provider.RecoverSubmitAsync(_calls.For(job, job.SubmitCall!.Reference, _upstreamIds.OwnedByOthers(lane.Provider.Name, job.Id)), call.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "recover", job.Id);
                outcome = new RecoveryOutcome.Unknown();
            }

            // Two jobs must never adopt one upstream task: the first claim wins, the other cannot tell.
            var claimedByAnother = outcome is RecoveryOutcome.Found found && !_upstreamIds.TryClaim(lane.Provider.Name, found.UpstreamId, job.Id);
            EngineLog.RecoveredSubmitting(_log, job.Id, lane.Provider.Name, claimedByAnother ? "Found (claimed by another job)" : outcome.GetType().Name);
            step = SubmitRecovery.After(job, outcome, _time.GetUtcNow(), _options.UpstreamCallTimeout, claimedByAnother);
        }

        switch (step)
        {
            case RecoveryStep.Adopt adopt:
                await OnAcceptedAsync(job, lane, adopt.UpstreamId).ConfigureAwait(false);
                break;
            case RecoveryStep.LookAgain again:
                // Still holding its slot: the interrupted call could still be creating the task upstream.
                _due.Add(new DueItem(job.Id, DueKind.Recover, 0), again.At);
                return;
            case RecoveryStep.Requeue requeue:
                EngineLog.RequeuedAfterRestart(_log, job.Id, lane.Provider.Name, requeue.Reason);
                await RequeueAsync(job.Id, lane, route: null, front: true, ct).ConfigureAwait(false);
                break;
            default:
                await FailAsync(job.Id, new JobError(ErrorCodes.SubmitOutcomeUnknown, "Reelay restarted while submitting this job, and the provider cannot tell whether it accepted it. It was not resubmitted, to avoid paying twice."), ct).ConfigureAwait(false);
                Release(lane, job.Id);
                break;
        }

        _upstreamIds.End();
    }

    private Task OnDueAsync(DueItem item, DateTimeOffset due) => item.Kind switch
    {
        DueKind.Poll => PollOrRescheduleAsync(item, due),
        DueKind.Deadline => OnDeadlineAsync(item.JobId),
        DueKind.Recover => OnRecoverAsync(item.JobId),
        _ => OnResubmitAsync(item.JobId),
    };

    private async Task OnResubmitAsync(string jobId)
    {
        var job = await _store.GetAsync(jobId, _stopping.Token).ConfigureAwait(false);
        if (job is { Status: JobStatus.Queued, DeletedAt: null } && LaneOf(job.Provider) is { } lane
            && await _claims.TryClaimAsync(jobId, _options.NodeId, _time.GetUtcNow(), _options.ClaimLease, _stopping.Token).ConfigureAwait(false))
        {
            Enqueue(job, lane, front: true);
        }
    }

    private async Task OnRecoverAsync(string jobId)
    {
        var job = await _store.GetAsync(jobId, _stopping.Token).ConfigureAwait(false);
        if (job is { Status: JobStatus.Submitting, SubmitCall: { } call } && LaneOf(call.Provider) is { } lane)
        {
            await RecoverSubmittingAsync(job, lane).ConfigureAwait(false);
        }
        else
        {
            _upstreamIds.End(); // Cancelled or timed out meanwhile; leaving the lane freed its slot.
        }
    }

    private async Task OnDeadlineAsync(string jobId)
    {
        var now = _time.GetUtcNow();
        var (failed, current) = await Transitions.TryAsync(
            jobId,
            j => !j.Status.IsTerminal() && now >= j.Deadline,
            j => j with { Status = JobStatus.Failed, CompletedAt = now, Error = new JobError(ErrorCodes.DeadlineExceeded, $"The job did not finish within its deadline ({(j.Deadline - j.CreatedAt).TotalMinutes:0.#} minutes).") },
            _stopping.Token).ConfigureAwait(false);
        if (failed is null)
        {
            if (current is not null && !current.Status.IsTerminal() && current.Deadline > now)
            {
                _due.Add(new DueItem(current.Id, DueKind.Deadline, 0), current.Deadline);
            }

            return;
        }

        EngineLog.DeadlineExceeded(_log, jobId);
        LeaveLane(failed);
    }

    private async Task PollOrRescheduleAsync(DueItem item, DateTimeOffset due)
    {
        try
        {
            await PollAsync(item, due).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            // A store or engine fault must not strand the job: try again later; the deadline remains the backstop.
            EngineLog.EngineError(_log, ex, item.JobId);
            var delay = Backoff.Exponential(TimeSpan.FromSeconds(1), item.Attempt, TimeSpan.FromMinutes(1), Random.Shared.NextDouble());
            _due.Add(item with { Attempt = item.Attempt + 1 }, _time.GetUtcNow() + delay);
        }
    }

    private async Task PollAsync(DueItem item, DateTimeOffset due)
    {
        var ct = _stopping.Token;
        var job = await _store.GetAsync(item.JobId, ct).ConfigureAwait(false);
        var lane = LaneOf(job?.Provider);
        if (job is null || lane is null || job.Status != JobStatus.Running)
        {
            if (job is not null && lane is not null && job.Status.IsTerminal())
            {
                Release(lane, job.Id);
            }

            return;
        }

        if (_time.GetUtcNow() >= job.Deadline)
        {
            await OnDeadlineAsync(job.Id).ConfigureAwait(false);
            return;
        }

        var outcome = await CallPollAsync(job, lane, due, ct).ConfigureAwait(false);
        switch (PollPolicy.Decide(job, outcome, item.Attempt, lane.Provider.PollSchedule, Random.Shared.NextDouble()))
        {
            case PollDecision.Run run:
                if (run.Progress is { } progress)
                {
                    await Transitions.TryAsync(job.Id, j => j.Status == JobStatus.Running && j.Progress < progress, j => j with { Progress = progress }, ct).ConfigureAwait(false);
                }

                _due.Add(item with { Attempt = run.Attempt }, _time.GetUtcNow() + run.Delay);
                break;
            case PollDecision.Finalize finalize:
                await FinalizeAsync(job, lane, finalize.Result, item).ConfigureAwait(false);
                break;
            case PollDecision.Fail fail:
                await FailAsync(job.Id, fail.Error, ct).ConfigureAwait(false);
                Release(lane, job.Id);
                break;
            case PollDecision.RetryAfter retry:
                EngineLog.PollRetry(_log, job.Id, retry.Delay, retry.Reason);
                _due.Add(item with { Attempt = retry.Attempt }, _time.GetUtcNow() + retry.Delay);
                break;
        }
    }

    private async Task<PollOutcome> CallPollAsync(Job job, ProviderLane lane, DateTimeOffset due, CancellationToken ct)
    {
        await lane.PollGate.WaitAsync(ct).ConfigureAwait(false);
        using var span = ReelayTelemetry.StartPoll(job, lane.Provider.Name);
        PollOutcome outcome;
        try
        {
            using var call = _calls.Start();
            outcome = await lane.Provider.PollAsync(_calls.For(job), call.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            outcome = new PollOutcome.RetryLater("the provider did not answer the poll in time");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "poll", job.Id);
            outcome = new PollOutcome.RetryLater("the poll failed");
        }
        finally
        {
            lane.PollGate.Release();
        }

        ReelayTelemetry.PollAnswered(span, outcome, _time.GetUtcNow() - due);
        return outcome;
    }

    private async Task FinalizeAsync(Job job, ProviderLane lane, ResultLocation result, DueItem item)
    {
        using var span = ReelayTelemetry.StartFinalize(job, lane.Provider.Name);
        FinalizeOutcome outcome;
        try
        {
            outcome = await _finalizer.FinalizeAsync(_calls.For(job), lane.Provider, result, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // Shutting down: still 'running'; the next start polls it again and finalizes.
        }
        catch (Exception ex)
        {
            EngineLog.FinalizeFailed(_log, ex, job.Id);
            var again = PollPolicy.AfterFinalizeFailed(item.Attempt, lane.Provider.PollSchedule, Random.Shared.NextDouble());
            _due.Add(item with { Attempt = again.Attempt }, _time.GetUtcNow() + again.Delay);
            return;
        }

        if (outcome is FinalizeOutcome.Unplayable unplayable)
        {
            await FailAsync(job.Id, unplayable.Error, _stopping.Token).ConfigureAwait(false);
        }

        Release(lane, job.Id);
    }

    private async Task FailAsync(string jobId, JobError error, CancellationToken ct)
    {
        var failed = await Transitions.TryAsync(jobId, j => !j.Status.IsTerminal(), j => j with { Status = JobStatus.Failed, Error = error, CompletedAt = _time.GetUtcNow() }, ct).ConfigureAwait(false);
        if (failed.Applied)
        {
            EngineLog.JobFailed(_log, jobId, error.Code, error.Message);
        }
    }

    private void Spawn(string jobId, Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                EngineLog.EngineError(_log, ex, jobId);
            }
        });
        _background.TryAdd(task, 0);
        task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
