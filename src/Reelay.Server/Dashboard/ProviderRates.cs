using System.Collections.Concurrent;

namespace Reelay.Server.Dashboard;

/// <summary>
/// Upstream calls per second over about the last minute, from <see cref="Reelay.Providers.Http.UpstreamHttpClient.RequestCount"/>
/// sampled whenever the providers page is read: the counter only grows, so the rate is the difference to the oldest
/// sample younger than a minute (or since start when there is none). Metrics, when scraped, are the precise view.
/// </summary>
internal sealed class ProviderRates(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Queue<(DateTimeOffset At, long Count)>> _samples = new(StringComparer.Ordinal);

    public double Rate(string instance, long count)
    {
        var now = time.GetUtcNow();
        var queue = _samples.GetOrAdd(instance, _ => new Queue<(DateTimeOffset, long)>());
        lock (queue)
        {
            while (queue.Count > 1 && now - queue.Peek().At > TimeSpan.FromMinutes(1))
            {
                queue.Dequeue();
            }

            var (at, before) = queue.Count > 0 ? queue.Peek() : (now, count);
            queue.Enqueue((now, count));
            if (queue.Count > 64)
            {
                queue.Dequeue();
            }

            var seconds = (now - at).TotalSeconds;
            return seconds >= 1 ? (count - before) / seconds : 0;
        }
    }
}
