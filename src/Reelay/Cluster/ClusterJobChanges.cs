using System.Globalization;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Cluster;

/// <summary>
/// Job changes between nodes. As an <see cref="IJobObserver"/> it publishes every change this node stores (id and
/// version, on <see cref="ClusterChannels.JobChanged"/>); for every change another node stored, it first drops the job
/// from this node's read cache (<see cref="IJobCache"/>), then tells <see cref="RemoteChanged"/> listeners (the
/// scheduler, for a cancel or delete of a job it works on; the live event hub, for SSE and the dashboard). On a single
/// process nothing is published and nothing is heard.
/// </summary>
public sealed class ClusterJobChanges : IJobObserver, IDisposable
{
    private readonly IClusterSignals _signals;
    private readonly IJobCache? _cache;
    private readonly IDisposable _subscription;

    /// <summary>Creates the relay for this node.</summary>
    public ClusterJobChanges(IClusterSignals signals, IJobStore store)
    {
        ArgumentNullException.ThrowIfNull(signals);
        _signals = signals;
        _cache = store as IJobCache;
        _subscription = signals.Subscribe(ClusterChannels.JobChanged, OnSignal);
        signals.Resynchronize += OnResynchronize;
    }

    private void OnResynchronize() => _cache?.ForgetAll();

    /// <summary>A job another node changed: its id and the version it stored. Raised after the cache dropped the job; handlers must return quickly.</summary>
    public event Action<string, long>? RemoteChanged;

    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (_signals.IsShared)
        {
            _signals.Publish(ClusterChannels.JobChanged, Format(current.Id, current.Version));
        }
    }

    /// <summary>The payload of a change: "id version".</summary>
    public static string Format(string jobId, long version) => string.Create(CultureInfo.InvariantCulture, $"{jobId} {version}");

    /// <summary>Reads a payload of <see cref="Format"/>; false for anything else.</summary>
    public static bool TryParse(string payload, out string jobId, out long version)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var space = payload.IndexOf(' ', StringComparison.Ordinal);
        jobId = space > 0 ? payload[..space] : "";
        version = 0;
        return space > 0 && long.TryParse(payload.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    private void OnSignal(ClusterSignal signal)
    {
        if (!TryParse(signal.Payload, out var jobId, out var version))
        {
            return;
        }

        _cache?.Forget(jobId, version);
        RemoteChanged?.Invoke(jobId, version);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _subscription.Dispose();
        _signals.Resynchronize -= OnResynchronize;
    }
}
