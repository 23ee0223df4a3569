using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reelay.Cluster;

namespace Reelay.Storage.Postgres;

/// <summary>
/// <see cref="IClusterSignals"/> over PostgreSQL's <c>LISTEN/NOTIFY</c>. One dedicated connection per node listens on
/// every <see cref="ClusterChannels"/> channel and reconnects (with a growing pause, at most 5 s) when it drops;
/// publishing goes through the pool, batching whatever queued up into one round trip of <c>pg_notify</c> calls. A
/// notification carries "<c>origin-node</c>\n<c>payload</c>", so a node can ignore its own. PostgreSQL delivers a
/// notification only to sessions listening when it commits: after a reconnect, <see cref="Resynchronize"/> tells the
/// node it may have missed some (its read cache is dropped and a claim round runs).
/// </summary>
public sealed class PostgresNotifications : IClusterSignals, IAsyncDisposable
{
    private static readonly string[] Channels = [ClusterChannels.JobChanged, ClusterChannels.Wake, ClusterChannels.SlotFreed, ClusterChannels.WebhookQueued];

    /// <summary>The session-level advisory lock whose holder leads (released by PostgreSQL when its session ends, a killed node's included).</summary>
    private const string LeaderLockSql = "SELECT pg_try_advisory_lock(hashtextextended('reelay.cluster.leader', 0))";

    private volatile bool _leader;
    private int _disposed;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _listenConnectionString;
    private readonly ILogger _log;
    private readonly Channel<(string Channel, string Payload)> _outbox = Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(100_000)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });
    private readonly Channel<ClusterSignal> _inbox = Channel.CreateUnbounded<ClusterSignal>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly ClusterSubscriptions _subscriptions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _listener;
    private readonly Task _sender;
    private readonly Task _dispatcher;

    /// <summary>Starts listening for node <paramref name="nodeId"/> on the database of <paramref name="connectionString"/>.</summary>
    public PostgresNotifications(string connectionString, string nodeId, ILogger<PostgresNotifications> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        NodeId = nodeId;
        _log = logger;
        _dataSource = NpgsqlDataSource.Create(connectionString);

        // The listening session: no pooling (it is held for the node's life), and keepalives so that a dead peer is noticed.
        _listenConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            KeepAlive = 5,
            ApplicationName = Truncate("reelay-node " + nodeId, 63),
        }.ConnectionString;
        _listener = Task.Run(() => ListenAsync(_stopping.Token));
        _sender = Task.Run(() => SendAsync(_stopping.Token));
        _dispatcher = Task.Run(DispatchAsync);
    }

    /// <inheritdoc />
    public string NodeId { get; }

    /// <inheritdoc />
    public bool IsShared => true;

    /// <inheritdoc />
    /// <remarks>The leader holds an advisory lock on its listening session; the others try to take it every 2 seconds.</remarks>
    public bool IsLeader => _leader;

    /// <inheritdoc />
    public event Action? Resynchronize;

    /// <summary>Completes once the first LISTEN is in place (for tests and start-up ordering).</summary>
    public Task Listening => _listening.Task;

    /// <inheritdoc />
    public void Publish(string channel, string payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, ClusterChannels.MaxPayloadLength);
        _outbox.Writer.TryWrite((channel, payload));
    }

    /// <inheritdoc />
    public IDisposable Subscribe(string channel, Action<ClusterSignal> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(handler);
        if (!Channels.Contains(channel))
        {
            throw new ArgumentException($"'{channel}' is not one of the channels a node listens on.", nameof(channel));
        }

        return _subscriptions.Add(channel, handler);
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        var failures = 0;
        var connectedBefore = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_listenConnectionString);
                await connection.OpenAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, e) => OnNotification(e.Channel, e.Payload);
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = string.Concat(Channels.Select(c => $"LISTEN {c};"));
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                failures = 0;
                if (connectedBefore)
                {
                    ClusterLog.Reconnected(_log, NodeId);
                    _inbox.Writer.TryWrite(default); // "resynchronize", delivered in order with the messages
                }

                connectedBefore = true;
                _listening.TrySetResult();
                while (!ct.IsCancellationRequested)
                {
                    if (!_leader)
                    {
                        await using var tryLead = new NpgsqlCommand(LeaderLockSql, connection);
                        _leader = await tryLead.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
                    }

                    await connection.WaitAsync(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _leader = false;
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                _leader = false; // the session, and with it the lock, is gone
                failures++;
                ClusterLog.ListenFailed(_log, ex, NodeId, failures);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * (1 << Math.Min(failures, 5)))), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(string channel, string payload)
    {
        var newline = payload.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0)
        {
            return;
        }

        var origin = payload[..newline];
        if (origin != NodeId)
        {
            _inbox.Writer.TryWrite(new ClusterSignal(channel, origin, payload[(newline + 1)..]));
        }
    }

    private async Task SendAsync(CancellationToken ct)
    {
        var reader = _outbox.Reader;
        var batch = new List<(string Channel, string Payload)>(128);
        try
        {
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < 128 && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                try
                {
                    await using var command = _dataSource.CreateBatch();
                    foreach (var (channel, payload) in batch)
                    {
                        var call = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
                        call.Parameters.Add(new NpgsqlParameter { Value = channel });
                        call.Parameters.Add(new NpgsqlParameter { Value = NodeId + "\n" + payload });
                        command.BatchCommands.Add(call);
                    }

                    await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
                {
                    // Signals are hints: the other nodes' slower paths (claim loop, leases, re-reads) cover a lost one.
                    ClusterLog.PublishFailed(_log, ex, batch.Count);
                    await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task DispatchAsync()
    {
        await foreach (var signal in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (signal.Channel is null)
            {
                try
                {
                    Resynchronize?.Invoke();
                }
#pragma warning disable CA1031 // A listener's fault must not stop delivery.
                catch
#pragma warning restore CA1031
                {
                }

                continue;
            }

            _subscriptions.Deliver(signal);
        }
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_listener, _sender).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _inbox.Writer.TryComplete();
        await _dispatcher.ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
