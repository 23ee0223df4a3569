using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Reelay.Cluster;

/// <summary>
/// The nodes of one process: what one <see cref="InProcessClusterSignals"/> publishes reaches the others on the same bus.
/// A single gateway has one node on its own bus, so publishing reaches nobody. Tests put several engines on one bus to
/// run them as a cluster in one process.
/// </summary>
public sealed class InProcessSignalBus
{
    private readonly Lock _gate = new();
    private readonly List<InProcessClusterSignals> _nodes = []; // in the order they joined: the first one leads

    internal void Join(InProcessClusterSignals node)
    {
        lock (_gate)
        {
            _nodes.Add(node);
        }
    }

    internal void Leave(InProcessClusterSignals node)
    {
        lock (_gate)
        {
            _nodes.Remove(node);
        }
    }

    internal void Publish(InProcessClusterSignals from, ClusterSignal signal)
    {
        InProcessClusterSignals[] nodes;
        lock (_gate)
        {
            nodes = [.. _nodes];
        }

        foreach (var node in nodes)
        {
            if (!ReferenceEquals(node, from))
            {
                node.Deliver(signal);
            }
        }
    }

    internal int Count
    {
        get
        {
            lock (_gate)
            {
                return _nodes.Count;
            }
        }
    }

    internal bool Leads(InProcessClusterSignals node)
    {
        lock (_gate)
        {
            return _nodes.Count == 0 || ReferenceEquals(_nodes[0], node);
        }
    }
}

/// <summary>
/// <see cref="IClusterSignals"/> within one process (the default for the embedded SQLite store, which serves one node).
/// Messages are delivered in order on one background reader per node, like the PostgreSQL implementation's.
/// </summary>
public sealed class InProcessClusterSignals : IClusterSignals, IAsyncDisposable
{
    private readonly InProcessSignalBus _bus;
    private readonly Channel<ClusterSignal> _inbox = Channel.CreateUnbounded<ClusterSignal>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ClusterSubscriptions _subscriptions = new();
    private readonly Task _reader;

    /// <summary>A node on <paramref name="bus"/> (a bus of its own when null: a single process).</summary>
    public InProcessClusterSignals(string nodeId, InProcessSignalBus? bus = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        NodeId = nodeId;
        _bus = bus ?? new InProcessSignalBus();
        _bus.Join(this);
        _reader = Task.Run(ReadAsync);
    }

    /// <inheritdoc />
    public string NodeId { get; }

    /// <inheritdoc />
    public bool IsShared => _bus.Count > 1;

    /// <inheritdoc />
    public bool IsLeader => _bus.Leads(this);

    /// <inheritdoc />
    public event Action? Resynchronize
    {
        add { } // Nothing is ever missed in one process.
        remove { }
    }

    /// <inheritdoc />
    public void Publish(string channel, string payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, ClusterChannels.MaxPayloadLength);
        _bus.Publish(this, new ClusterSignal(channel, NodeId, payload));
    }

    /// <inheritdoc />
    public IDisposable Subscribe(string channel, Action<ClusterSignal> handler)
    {
        return _subscriptions.Add(channel, handler);
    }

    internal void Deliver(ClusterSignal signal) => _inbox.Writer.TryWrite(signal);

    private async Task ReadAsync()
    {
        await foreach (var signal in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            _subscriptions.Deliver(signal);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _bus.Leave(this);
        _inbox.Writer.TryComplete();
        await _reader.ConfigureAwait(false);
    }
}
