using Reelay.Engine;
using Reelay.Jobs;

namespace Reelay.Diagnostics;

/// <summary>Feeds every stored job change to <see cref="ReelayTelemetry.JobChanged"/> (job state counters and the active-job gauges).</summary>
public sealed class JobTelemetryObserver : IJobObserver
{
    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current) => ReelayTelemetry.JobChanged(previous, current);
}
