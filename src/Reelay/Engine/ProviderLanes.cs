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

    /// <summary>Creates one lane per provider; <paramref name="submit"/> runs (in the background) for each job that gets a slot.</summary>
    public ProviderLanes(IEnumerable<IVideoProvider> providers, EngineOptions options, Func<string, ProviderLane, Task> submit, ProviderCalls calls, BackgroundWork work, ILogger log)
    {
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

    /// <summary>Frees the job's slot and starts the next waiting job.</summary>
    public void Release(ProviderLane lane, string jobId)
    {
        if (lane.Release(jobId))
        {
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
