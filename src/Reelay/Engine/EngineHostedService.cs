using Microsoft.Extensions.Hosting;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>Initializes the store, recovers unfinished jobs and runs the scheduler for the host's lifetime.</summary>
public sealed class EngineHostedService(IJobStore store, JobScheduler scheduler) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await scheduler.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => scheduler.StopAsync(cancellationToken);
}
