namespace Reelay.Engine;

/// <summary>What is due for a job at some time.</summary>
public enum DueKind : byte
{
    /// <summary>Poll the upstream.</summary>
    Poll,

    /// <summary>Fail the job when it is still unfinished.</summary>
    Deadline,

    /// <summary>Put a queued job back at the front of its lane after a submit backoff.</summary>
    Resubmit,

    /// <summary>Look a job caught in submitting up again.</summary>
    Recover,

    /// <summary>Poll a running job once, now, beside its schedule (an upstream callback hinted that it changed).</summary>
    Hint,
}

/// <summary>One piece of due work: the job, what, and the poll attempt it continues.</summary>
public readonly record struct DueItem(string JobId, DueKind Kind, int Attempt);

/// <summary>
/// This process's cache of what is due when: a heap of (job, kind) by due time and one loop that hands each item to
/// <c>run</c> when its time comes on the injected clock. Durable state lives in the store (job states, deadlines,
/// claims); after a restart or a lease takeover the scheduler rebuilds these entries from it.
/// </summary>
public sealed class DueWork
{
    private readonly TimeProvider _time;
    private readonly Action<DueItem, DateTimeOffset> _run;
    private readonly Lock _gate = new();
    private readonly PriorityQueue<DueItem, DateTimeOffset> _heap = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _nextWake = DateTimeOffset.MaxValue;

    /// <summary>Creates the cache; <paramref name="run"/> receives each item and the time it was due (it must not block).</summary>
    public DueWork(TimeProvider time, Action<DueItem, DateTimeOffset> run)
    {
        _time = time;
        _run = run;
    }

    /// <summary>Entries waiting.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _heap.Count;
            }
        }
    }

    /// <summary>Adds <paramref name="item"/>, due at <paramref name="due"/>.</summary>
    public void Add(DueItem item, DateTimeOffset due)
    {
        TaskCompletionSource? wake = null;
        lock (_gate)
        {
            _heap.Enqueue(item, due);
            if (due < _nextWake)
            {
                wake = _wake;
            }
        }

        wake?.TrySetResult();
    }

    /// <summary>Runs due items until <paramref name="cancellationToken"/> ends.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var due = new List<(DueItem Item, DateTimeOffset At)>();
        while (!cancellationToken.IsCancellationRequested)
        {
            TaskCompletionSource wake;
            TimeSpan wait;
            lock (_gate)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                wake = _wake;
                var now = _time.GetUtcNow();
                while (_heap.TryPeek(out var item, out var at) && at <= now)
                {
                    _heap.Dequeue();
                    due.Add((item, at));
                }

                _nextWake = _heap.TryPeek(out _, out var next) ? next : DateTimeOffset.MaxValue;
                wait = _nextWake == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : _nextWake - now;
            }

            foreach (var (item, at) in due)
            {
                _run(item, at);
            }

            due.Clear();
            if (wait == TimeSpan.Zero)
            {
                continue;
            }

            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = wait == Timeout.InfiniteTimeSpan ? Task.Delay(Timeout.Infinite, delayCts.Token) : Task.Delay(wait, _time, delayCts.Token);
            await Task.WhenAny(delay, wake.Task).ConfigureAwait(false);
            await delayCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await delay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
