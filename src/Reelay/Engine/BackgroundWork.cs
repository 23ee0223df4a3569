using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Reelay.Engine;

/// <summary>
/// The scheduler's background tasks: one per piece of job work in flight (a submit, a poll, a recovery, ...) and its
/// long-running loops. They all end with <see cref="Stopping"/>; <see cref="StopAsync"/> waits for them. A job's work
/// that throws is logged, never lost silently and never unobserved.
/// </summary>
internal sealed class BackgroundWork(ILogger log) : IDisposable
{
    private readonly ConcurrentDictionary<Task, byte> _tasks = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Ends when the scheduler stops.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Whether the scheduler is stopping.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>Runs <paramref name="work"/> for <paramref name="jobId"/> on the thread pool, logging what it throws.</summary>
    public void Spawn(string jobId, Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                EngineLog.EngineError(log, ex, jobId);
            }
        });
        _tasks.TryAdd(task, 0);
        task.ContinueWith(t => _tasks.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Starts a loop that runs until the scheduler stops.</summary>
    public void RunLoop(Func<CancellationToken, Task> loop)
    {
        var token = _stopping.Token;
        lock (_loops)
        {
            _loops.Add(Task.Run(() => loop(token), CancellationToken.None));
        }
    }

    /// <summary>Cancels everything and waits for it, until <paramref name="cancellationToken"/> (the shutdown deadline) ends.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        var pending = _tasks.Keys.ToList();
        lock (_loops)
        {
            pending.AddRange(_loops);
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown deadline reached: stored state is consistent; what was in flight is recovered at next start.
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();
}
