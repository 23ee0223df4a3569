using Microsoft.Extensions.Logging;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>
/// The <see cref="ProviderLane"/> of every provider instance, and what moves jobs through them: a queued job joins its
/// lane, a free slot starts the next submit, a job that ends frees its slot (after cancelling it upstream when it ended
/// outside the normal flow).
/// </summary>
internal sealed class ProviderLanes
{
    private readonly Dictionary<string, ProviderLane> _lanes = new(StringComparer.Ordinal);
    private readonly Func<string, ProviderLane, Task> _submit;
    private readonly ProviderCalls _calls;
    private readonly BackgroundWork _work;
    private readonly ILogger _log;
    private readonly Cluster.IProviderSlots _slots;
    private readonly Cluster.IClusterSignals? _signals;

    /// <summary>
    /// Creates one lane per provider; <paramref name="submit"/> runs (in the background) for each job that gets a slot. With
    /// shared <paramref name="slots"/> (several nodes), a provider's slots are also taken from the cluster-wide count.
    /// </summary>
    public ProviderLanes(IEnumerable<IVideoProvider> providers, EngineOptions options, Func<string, ProviderLane, Task> submit, ProviderCalls calls, BackgroundWork work, ILogger log, Cluster.IProviderSlots? slots = null, Cluster.IClusterSignals? signals = null)
    {
        _slots = slots ?? Cluster.LocalProviderSlots.Instance;
        _signals = signals;
        foreach (var provider in providers)
        {
            _lanes[provider.Name] = new ProviderLane(provider, options.MaxConcurrentPollsPerProvider, options.MaxConcurrentSubmitsPerProvider);
        }

        _submit = submit;
        _calls = calls;
        _work = work;
        _log = log;
    }

    /// <summary>The lane of <paramref name="provider"/>, or null when no such provider is configured.</summary>
    public ProviderLane? Of(string? provider) => provider is not null && _lanes.TryGetValue(provider, out var lane) ? lane : null;

    /// <summary>Whether any lane has the job waiting or holding a slot.</summary>
    public bool Knows(string jobId) => _lanes.Values.Any(l => l.Knows(jobId));

    /// <summary>Jobs waiting and jobs holding a slot, over all lanes.</summary>
    public (int Queued, int Holding) Counts()
    {
        int queued = 0, holding = 0;
        foreach (var lane in _lanes.Values)
        {
            var (q, h) = lane.Counts();
            queued += q;
            holding += h;
        }

        return (queued, holding);
    }

    /// <summary>Puts a queued job in <paramref name="lane"/> (at the front for one that lost its turn) and starts what fits.</summary>
    public void Enqueue(Job job, ProviderLane lane, bool front)
    {
        lane.Enqueue(job.Id, front);
        EngineLog.JobQueued(_log, job.Id, lane.Provider.Name, job.Model);
        Dispatch(lane);
    }

    /// <summary>Frees the job's slot (and its cluster-wide slot, announcing it) and starts the next waiting job.</summary>
    public void Release(ProviderLane lane, string jobId)
    {
        if (!lane.Release(jobId))
        {
            return;
        }

        if (SharedSlots(lane))
        {
            _work.Spawn(jobId, () => ReleaseSharedSlotAsync(lane, jobId));
        }
        else
        {
            Dispatch(lane);
        }
    }

    /// <summary>Whether <paramref name="lane"/>'s slots are counted across nodes (a local renderer's are this machine's own).</summary>
    public bool SharedSlots(ProviderLane lane) => _slots.IsShared && lane.Provider is not Providers.Sandbox.SandboxProvider;

    /// <summary>A job taken over in submitting or running holds its lane slot, and its cluster-wide slot.</summary>
    public async Task HoldAsync(ProviderLane lane, string jobId, CancellationToken cancellationToken)
    {
        lane.Hold(jobId);
        if (SharedSlots(lane))
        {
            await _slots.HoldAsync(lane.Provider.Name, jobId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a cluster-wide slot for a submit; false (the lane parks) when every slot of the provider is taken.</summary>
    public async Task<bool> TryAcquireSharedSlotAsync(ProviderLane lane, string jobId, CancellationToken ct)
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

    /// <summary>Lanes parked for want of a cluster-wide slot try again (a slot was freed somewhere, or a claim round).</summary>
    public void UnparkAll()
    {
        foreach (var lane in _lanes.Values)
        {
            Unpark(lane);
        }
    }

    /// <summary>Tries <paramref name="lane"/> again if it was parked.</summary>
    public void Unpark(ProviderLane lane)
    {
        if (lane.Unpark())
        {
            Dispatch(lane);
        }
    }

    private async Task ReleaseSharedSlotAsync(ProviderLane lane, string jobId)
    {
        try
        {
            await _slots.ReleaseAsync(lane.Provider.Name, jobId, CancellationToken.None).ConfigureAwait(false);
            _signals?.Publish(Cluster.ClusterChannels.SlotFreed, lane.Provider.Name);
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
    public void Leave(Job ended)
    {
        if (Of(ended.Provider) is not { } lane)
        {
            return;
        }

        if (lane.Leave(ended.Id) && ended.UpstreamId is not null)
        {
            _work.Spawn(ended.Id, () => CancelUpstreamAsync(lane, ended));
        }
        else
        {
            Release(lane, ended.Id);
        }
    }

    /// <summary>Cancels the job upstream (a failure is logged: the job is terminal here anyway), then frees its slot.</summary>
    public async Task CancelUpstreamAsync(ProviderLane lane, Job job)
    {
        try
        {
            using var call = _calls.Start();
            await lane.Provider.CancelAsync(_calls.For(job), call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_work.IsStopping)
        {
            EngineLog.ProviderThrew(_log, ex, lane.Provider.Name, "cancel", job.Id);
        }
        finally
        {
            Release(lane, job.Id);
        }
    }

    private void Dispatch(ProviderLane lane)
    {
        foreach (var id in lane.TakeStartable() ?? [])
        {
            _work.Spawn(id, () => _submit(id, lane));
        }
    }
}
