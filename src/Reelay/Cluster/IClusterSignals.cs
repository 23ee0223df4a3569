namespace Reelay.Cluster;

/// <summary>
/// Small messages between the gateway nodes that share one database: job ids and versions, never bodies (the database
/// holds the truth; a signal only says "look again now"). A node hears what the other nodes publish, never its own
/// messages. Delivery is best effort and at most once: a node that was disconnected misses what was said meanwhile, so
/// every use has a slower path that does not need the signal (the claim loop, the lease, a re-read on the next request).
/// Implementations: <see cref="InProcessClusterSignals"/> (one process; the default), and the PostgreSQL one over
/// <c>LISTEN/NOTIFY</c> (<c>Reelay:Store:Provider=postgres</c>).
/// </summary>
public interface IClusterSignals
{
    /// <summary>This node's id (<c>Reelay:Engine:NodeId</c>).</summary>
    string NodeId { get; }

    /// <summary>Whether other nodes may hear this one (false: a single process, where publishing does nothing).</summary>
    bool IsShared { get; }

    /// <summary>
    /// Whether this node runs the work that must happen once for the whole cluster (webhook deliveries). At most one node
    /// is the leader at a time; when it dies another one becomes it. A single process always is.
    /// </summary>
    bool IsLeader { get; }

    /// <summary>
    /// Queues <paramref name="payload"/> (at most <see cref="ClusterChannels.MaxPayloadLength"/> characters) for every
    /// other node subscribed to <paramref name="channel"/>. Never blocks and never throws for a lost connection: a
    /// message that cannot be sent is dropped (and logged).
    /// </summary>
    void Publish(string channel, string payload);

    /// <summary>
    /// Calls <paramref name="handler"/> for each message another node publishes on <paramref name="channel"/>, on a
    /// background thread, one message at a time per node. The handler must return quickly (queue any work). Dispose the
    /// result to stop.
    /// </summary>
    IDisposable Subscribe(string channel, Action<ClusterSignal> handler);

    /// <summary>
    /// Raised (on the delivery thread) when messages may have been missed, after a lost connection came back: listeners
    /// catch up the slow way (drop cached jobs, run a claim round).
    /// </summary>
    event Action? Resynchronize;
}

/// <summary>One message heard from another node.</summary>
/// <param name="Channel">The channel it was published on.</param>
/// <param name="Origin">The node id that published it.</param>
/// <param name="Payload">What it said.</param>
public readonly record struct ClusterSignal(string Channel, string Origin, string Payload);

/// <summary>The channels Reelay's nodes talk on.</summary>
public static class ClusterChannels
{
    /// <summary>A job changed in the store: payload "<c>id version</c>". Drives cache invalidation, live events (SSE, the dashboard) and cancels reaching the node that works on the job.</summary>
    public const string JobChanged = "reelay_job_changed";

    /// <summary>Claimable work appeared (claims released by a draining node, a job released due now): payload empty. Nodes run a claim round at once.</summary>
    public const string Wake = "reelay_wake";

    /// <summary>A webhook delivery was enqueued: payload empty. The leader's dispatcher looks at the outbox at once.</summary>
    public const string WebhookQueued = "reelay_webhook_queued";

    /// <summary>A provider slot was freed: payload the provider instance's name. Nodes with jobs waiting for that provider try again at once.</summary>
    public const string SlotFreed = "reelay_slot_freed";

    /// <summary>Longest payload (PostgreSQL's NOTIFY allows 8000 bytes; ids are far shorter).</summary>
    public const int MaxPayloadLength = 1000;
}
