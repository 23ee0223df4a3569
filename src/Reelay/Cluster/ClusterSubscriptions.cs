using System.Collections.Concurrent;

namespace Reelay.Cluster;

/// <summary>
/// The handlers subscribed to a node's signals, by channel: what every <see cref="IClusterSignals"/> implementation keeps
/// (the in-process bus and PostgreSQL's LISTEN/NOTIFY). Thread-safe; subscribing and disposing may race with delivery.
/// </summary>
internal sealed class ClusterSubscriptions
{
    private readonly ConcurrentDictionary<Subscription, byte> _subscriptions = new();

    /// <summary>Subscribes <paramref name="handler"/> to <paramref name="channel"/>; disposing the result unsubscribes.</summary>
    public IDisposable Add(string channel, Action<ClusterSignal> handler)
    {
        var subscription = new Subscription(this, channel, handler);
        _subscriptions.TryAdd(subscription, 0);
        return subscription;
    }

    /// <summary>Hands <paramref name="signal"/> to every handler of its channel; a handler's fault is swallowed.</summary>
    public void Deliver(ClusterSignal signal)
    {
        foreach (var subscription in _subscriptions.Keys)
        {
            subscription.Invoke(signal);
        }
    }

    private sealed class Subscription(ClusterSubscriptions owner, string channel, Action<ClusterSignal> handler) : IDisposable
    {
        public void Invoke(ClusterSignal signal)
        {
            if (signal.Channel != channel)
            {
                return;
            }

            try
            {
                handler(signal);
            }
#pragma warning disable CA1031 // One handler's fault must not stop the delivery of later messages.
            catch
#pragma warning restore CA1031
            {
            }
        }

        public void Dispose() => owner._subscriptions.TryRemove(this, out _);
    }
}
