using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Bench.Support;

/// <summary>
/// A provider named "sandbox" that accepts every job at once and reports it running, with room for
/// <paramref name="maxConcurrentJobs"/> jobs and a poll schedule of an hour, so jobs become running and then sit still.
/// </summary>
internal sealed class InstantProvider(int maxConcurrentJobs) : IVideoProvider
{
    private int _submits;

    public string Name => "sandbox";

    public int MaxConcurrentJobs { get; } = maxConcurrentJobs;

    public string? CheckSupport(Job job, string upstreamModel) => null;

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(new ProbeResult(true, "benchmark provider"));

    public PollSchedule PollSchedule { get; } = new(TimeSpan.FromHours(1), TimeSpan.FromHours(1), Growth: 1, Jitter: 0);

    public int Submits => Volatile.Read(ref _submits);

    public Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _submits);
        return Task.FromResult<SubmitOutcome>(new SubmitOutcome.Accepted("up_" + job.Job.Id));
    }

    public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken) =>
        Task.FromResult<PollOutcome>(new PollOutcome.Running(null));

    public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken) =>
        Task.FromResult<RecoveryOutcome>(new RecoveryOutcome.NotFound());

    public Task CancelAsync(ProviderJob job, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Jobs of the instant provider never finish.");
}
