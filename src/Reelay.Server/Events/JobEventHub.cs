using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Cluster;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Server.Events;

/// <summary>
/// Fans the engine's job changes out to live event streams, in process. Each subscriber gets a bounded channel: a slow
/// client loses older buffered changes (each change carries the whole job, so the newest says everything), never the
/// newest one, so never the terminal one. The number of open subscriptions is capped (per node). With several gateway
/// nodes, a change another node stored arrives as a signal (<see cref="ClusterJobChanges"/>: id and version); the job is
/// then read from the shared store and handed to this node's subscribers of that job, so a stream opened through any
/// node follows the job wherever it is worked on.
/// </summary>
internal sealed class JobEventHub : IJobObserver, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Subscription>> _byJob = new(StringComparer.Ordinal);
    private readonly int _maxOpen;
    private readonly int _bufferSize;
    private readonly ClusterJobChanges? _changes;
    private readonly IJobStore? _store;
    private int _open;

    public JobEventHub(ReelayServerOptions options, ClusterJobChanges? changes = null, IJobStore? store = null)
    {
        _maxOpen = options.Events.MaxOpenStreams;
        _bufferSize = options.Events.BufferSize;
        if (changes is not null && store is not null)
        {
            _changes = changes;
            _store = store;
            changes.RemoteChanged += OnRemoteChanged;
        }
    }

    public void Dispose()
    {
        if (_changes is not null)
        {
            _changes.RemoteChanged -= OnRemoteChanged;
        }
    }

    private void OnRemoteChanged(string jobId, long version)
    {
        lock (_gate)
        {
            if (!_byJob.ContainsKey(jobId))
            {
                return;
            }
        }

        _ = Task.Run(async () =>
        {
            try
            {
                // The cache dropped its older copy before this was raised, so this reads the database.
                if (await _store!.GetAsync(jobId, CancellationToken.None).ConfigureAwait(false) is { } job)
                {
                    OnJobChanged(null, job);
                }
            }
#pragma warning disable CA1031 // A failed read only costs this event; the stream's next one (or its reconnect) catches up.
            catch
#pragma warning restore CA1031
            {
            }
        });
    }

    /// <summary>Subscriptions open now.</summary>
    public int OpenSubscriptions => Volatile.Read(ref _open);

    /// <summary>The cap on open subscriptions.</summary>
    public int MaxOpenSubscriptions => _maxOpen;

    /// <summary>Starts hearing the job's changes, or returns null when <see cref="MaxOpenSubscriptions"/> are open already.</summary>
    public Subscription? TrySubscribe(string jobId)
    {
        var subscription = new Subscription(this, jobId, Channel.CreateBounded<Job>(new BoundedChannelOptions(_bufferSize)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        }));
        lock (_gate)
        {
            if (_open >= _maxOpen)
            {
                return null;
            }

            if (!_byJob.TryGetValue(jobId, out var list))
            {
                _byJob[jobId] = list = [];
            }

            list.Add(subscription);
            _open++;
        }

        return subscription;
    }

    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current)
    {
        lock (_gate)
        {
            if (_byJob.TryGetValue(current.Id, out var list))
            {
                foreach (var subscription in list)
                {
                    subscription.Writer.TryWrite(current);
                }
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (_byJob.TryGetValue(subscription.JobId, out var list) && list.Remove(subscription))
            {
                _open--;
                if (list.Count == 0)
                {
                    _byJob.Remove(subscription.JobId);
                }
            }
        }

        subscription.Writer.TryComplete();
    }

    /// <summary>One stream's view of one job's changes; dispose it to unsubscribe.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly JobEventHub _hub;
        private readonly Channel<Job> _channel;
        private int _disposed;

        public Subscription(JobEventHub hub, string jobId, Channel<Job> channel)
        {
            _hub = hub;
            JobId = jobId;
            _channel = channel;
        }

        public string JobId { get; }

        /// <summary>The job's changes, in the order the store accepted them (older ones may be missing when the client was slow).</summary>
        public ChannelReader<Job> Reader => _channel.Reader;

        internal ChannelWriter<Job> Writer => _channel.Writer;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _hub.Remove(this);
            }
        }
    }
}

/// <summary>Registration of the live event streams.</summary>
internal static class JobEventRegistration
{
    public static IServiceCollection AddJobEvents(this IServiceCollection services)
    {
        services.AddSingleton<JobEventHub>();
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<JobEventHub>());
        return services;
    }
}
