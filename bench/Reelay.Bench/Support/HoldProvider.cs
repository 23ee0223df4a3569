using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Bench.Support;

/// <summary>
/// A provider named "sandbox" with no slots (<see cref="MaxConcurrentJobs"/> = 0): the scheduler queues its jobs and
/// never dispatches one, so a benchmark sees submit and queueing alone. Any call means the benchmark is broken.
/// </summary>
internal sealed class HoldProvider : IVideoProvider
{
    public string Name => "sandbox";

    public int MaxConcurrentJobs => 0;

    public string? CheckSupport(Job job, string upstreamModel) => null;

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(new ProbeResult(true, "benchmark provider"));

    public PollSchedule PollSchedule { get; } = new(TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    public Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken) => throw Dispatched();

    public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken) => throw Dispatched();

    public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken) => throw Dispatched();

    public Task CancelAsync(ProviderJob job, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken) => throw Dispatched();

    private static InvalidOperationException Dispatched() => new("The hold provider has no slots; the scheduler must not dispatch to it.");
}
