using Reelay.Providers;

namespace Reelay.Engine;

/// <summary>
/// One provider instance's place in the engine: a FIFO of waiting jobs (<see cref="LaneQueue"/>), the jobs holding one
/// of its <see cref="IVideoProvider.MaxConcurrentJobs"/> slots (from submitting until terminal), and a bound on polls in
/// flight and on submits in flight. Thread-safe; every method is short and runs under the lane's own lock, so lanes
/// never contend.
/// </summary>
public sealed class ProviderLane
{
    private readonly Lock _gate = new();
    private readonly LaneQueue _queue = new();
    private readonly HashSet<string> _holders = new(StringComparer.Ordinal);
    private bool _parked;

    /// <summary>Creates the lane.</summary>
    public ProviderLane(IVideoProvider provider, int maxPolls, int maxSubmits = 32)
    {
        Provider = provider;
        PollGate = new SemaphoreSlim(maxPolls, maxPolls);
        SubmitGate = new SemaphoreSlim(maxSubmits, maxSubmits);
    }

    /// <summary>The provider instance.</summary>
    public IVideoProvider Provider { get; }

    /// <summary>Bounds the polls in flight to this provider.</summary>
    public SemaphoreSlim PollGate { get; }

    /// <summary>
    /// Bounds the submits in flight to this provider. Slots freed together (a wave of jobs finishing) would otherwise send
    /// as many submits at once into the provider's request-rate limit, whose queue is first come, first served: every poll
    /// due meanwhile would wait behind all of them. A job waiting here is still queued, so a poll is late by at most this
    /// many submits.
    /// </summary>
    public SemaphoreSlim SubmitGate { get; }

    /// <summary>Jobs waiting and jobs holding a slot.</summary>
    public (int Queued, int Holding) Counts()
    {
        lock (_gate)
        {
            return (_queue.Count, _holders.Count);
        }
    }

    /// <summary>Puts a job in the queue (at the front for one that lost its turn to a failover or retry), unless it waits or holds a slot already.</summary>
    public void Enqueue(string jobId, bool front)
    {
        lock (_gate)
        {
            if (!_holders.Contains(jobId))
            {
                _queue.Add(jobId, front);
            }
        }
    }

    /// <summary>Gives a job a slot directly (a job recovered in submitting or running).</summary>
    public void Hold(string jobId)
    {
        lock (_gate)
        {
            _holders.Add(jobId);
        }
    }

    /// <summary>Moves waiting jobs into free slots; returns the ids to submit now.</summary>
    public List<string>? TakeStartable()
    {
        List<string>? start = null;
        lock (_gate)
        {
            while (!_parked && _holders.Count < Provider.MaxConcurrentJobs && _queue.TryTake(out var id))
            {
                _holders.Add(id);
                (start ??= []).Add(id);
            }
        }

        return start;
    }

    /// <summary>
    /// Puts a job that could not get a cluster-wide slot back at the front of the queue, and stops handing out jobs until
    /// <see cref="Unpark"/> (a slot was freed somewhere, or the claim loop's next round).
    /// </summary>
    public void Park(string jobId)
    {
        lock (_gate)
        {
            _holders.Remove(jobId);
            _queue.Add(jobId, front: true);
            _parked = true;
        }
    }

    /// <summary>Lets <see cref="TakeStartable"/> hand out jobs again; true when the lane was parked.</summary>
    public bool Unpark()
    {
        lock (_gate)
        {
            var was = _parked;
            _parked = false;
            return was;
        }
    }

    /// <summary>Frees the job's slot; true when it held one.</summary>
    public bool Release(string jobId)
    {
        lock (_gate)
        {
            return _holders.Remove(jobId);
        }
    }

    /// <summary>Takes a job that became terminal out of the queue; returns whether it holds a slot.</summary>
    public bool Leave(string jobId)
    {
        lock (_gate)
        {
            _queue.Remove(jobId);
            return _holders.Contains(jobId);
        }
    }

    /// <summary>Whether the job waits in the queue or holds a slot.</summary>
    public bool Knows(string jobId)
    {
        lock (_gate)
        {
            return _queue.Contains(jobId) || _holders.Contains(jobId);
        }
    }

    /// <summary>1-based position in the queue, or null when the job does not wait in it.</summary>
    public int? PositionOf(string jobId)
    {
        lock (_gate)
        {
            return _queue.PositionOf(jobId);
        }
    }
}
