using Microsoft.Extensions.Logging;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// What the scheduler's parts (<see cref="JobSubmitter"/>, <see cref="JobPoller"/>, <see cref="Deadlines"/>,
/// <see cref="CrashRecovery"/>, <see cref="ClaimLoop"/>) share: the store and its single write path, the claims, the
/// clock, the settings, this process's caches (<see cref="ProviderLanes"/>, <see cref="DueWork"/>) and its background work.
/// </summary>
internal sealed class SchedulerContext(
    IJobStore store,
    JobTransitions transitions,
    IJobClaims claims,
    TimeProvider time,
    EngineOptions options,
    ILogger log,
    ProviderLanes lanes,
    DueWork due,
    ProviderCalls calls,
    BackgroundWork work,
    Cluster.IClusterSignals signals,
    Cluster.IProviderSlots slots)
{
    public IJobStore Store { get; } = store;

    public JobTransitions Transitions { get; } = transitions;

    public IJobClaims Claims { get; } = claims;

    public TimeProvider Time { get; } = time;

    public EngineOptions Options { get; } = options;

    public ILogger Log { get; } = log;

    public ProviderLanes Lanes { get; } = lanes;

    public DueWork Due { get; } = due;

    public ProviderCalls Calls { get; } = calls;

    public BackgroundWork Work { get; } = work;

    /// <summary>Signals between nodes (in-process on one node).</summary>
    public Cluster.IClusterSignals Signals { get; } = signals;

    /// <summary>Provider slots counted across nodes (this node's own on one node).</summary>
    public Cluster.IProviderSlots Slots { get; } = slots;

    /// <summary>While jobs caught in submitting are recovered: which upstream ids are taken.</summary>
    public UpstreamIdClaims UpstreamIds { get; } = new();

    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Fails an unfinished job with <paramref name="error"/> (a terminal job is left as it is).</summary>
    public async Task FailAsync(string jobId, JobError error, CancellationToken ct)
    {
        var failed = await Transitions.TryAsync(jobId, j => !j.Status.IsTerminal(), j => j with { Status = JobStatus.Failed, Error = error, CompletedAt = Time.GetUtcNow() }, ct).ConfigureAwait(false);
        if (failed.Applied)
        {
            EngineLog.JobFailed(Log, jobId, error.Code, error.Message);
        }
    }
}
