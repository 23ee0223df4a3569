using System.Collections.Concurrent;
using Reelay.Jobs;

namespace Reelay.Engine;

/// <summary>
/// While jobs caught in submitting are being recovered: the upstream ids jobs own per provider, so that a heuristic
/// lookup never adopts another job's task (the first claim wins). Empty otherwise: it costs nothing per running job in
/// normal operation.
/// </summary>
internal sealed class UpstreamIdClaims
{
    private readonly ConcurrentDictionary<(string Provider, string UpstreamId), string> _owners = new();
    private int _recovering;

    /// <summary>Whether a recovery is in progress (new acceptances must then be recorded).</summary>
    public bool Active => Volatile.Read(ref _recovering) > 0;

    /// <summary>Starts recovering <paramref name="submitting"/> jobs; <paramref name="running"/> are the jobs whose upstream ids are taken.</summary>
    public void Begin(int submitting, IEnumerable<Job> running)
    {
        Interlocked.Add(ref _recovering, submitting);
        foreach (var owned in running)
        {
            if (owned is { Provider: { } provider, UpstreamId: { } upstreamId })
            {
                _owners.TryAdd((provider, upstreamId), owned.Id);
            }
        }
    }

    /// <summary>Records that <paramref name="jobId"/> owns <paramref name="upstreamId"/>; false when another job did first.</summary>
    public bool TryClaim(string provider, string upstreamId, string jobId) => _owners.GetOrAdd((provider, upstreamId), jobId) == jobId;

    /// <summary>Upstream ids at <paramref name="provider"/> owned by jobs other than <paramref name="jobId"/>.</summary>
    public IReadOnlySet<string> OwnedByOthers(string provider, string jobId) =>
        _owners.Where(c => c.Key.Provider == provider && c.Value != jobId).Select(c => c.Key.UpstreamId).ToHashSet(StringComparer.Ordinal);

    /// <summary>One job's recovery ended; the last one clears the map.</summary>
    public void End()
    {
        if (Interlocked.Decrement(ref _recovering) <= 0)
        {
            Volatile.Write(ref _recovering, 0);
            _owners.Clear();
        }
    }
}
