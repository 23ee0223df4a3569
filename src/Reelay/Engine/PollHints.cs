using System.Collections.Concurrent;

namespace Reelay.Engine;

/// <summary>
/// The scheduler's "poll this job now" hints (an upstream callback said the job changed): at most one accepted per job per
/// <see cref="MinInterval"/> (an upstream that calls back on every status change, or retries, cannot make Reelay poll in
/// a loop), and one poll of a job at a time, so a hinted poll and the job's own schedule never finalize it twice.
/// </summary>
internal sealed class PollHints(TimeProvider time)
{
    /// <summary>The shortest time between two accepted hints of one job.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How soon a scheduled poll that met a hinted one in flight comes back.</summary>
    public static readonly TimeSpan BusyRetry = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastHint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _polling = new(StringComparer.Ordinal);

    /// <summary>True when a hint for <paramref name="jobId"/> is accepted now.</summary>
    public bool TryAccept(string jobId)
    {
        var now = time.GetUtcNow();
        while (true)
        {
            if (!_lastHint.TryGetValue(jobId, out var last))
            {
                if (_lastHint.TryAdd(jobId, now))
                {
                    return true;
                }

                continue;
            }

            if (now - last < MinInterval)
            {
                return false;
            }

            if (_lastHint.TryUpdate(jobId, now, last))
            {
                return true;
            }
        }
    }

    /// <summary>Marks a poll of <paramref name="jobId"/> in flight; false when one already is.</summary>
    public bool TryEnter(string jobId) => _polling.TryAdd(jobId, 0);

    /// <summary>Ends the poll of <paramref name="jobId"/>; <paramref name="finished"/> forgets its hint history too.</summary>
    public void Exit(string jobId, bool finished)
    {
        _polling.TryRemove(jobId, out _);
        if (finished)
        {
            _lastHint.TryRemove(jobId, out _);
        }
    }
}
