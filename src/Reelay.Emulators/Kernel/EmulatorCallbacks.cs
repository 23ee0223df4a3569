using System.Collections.Concurrent;

namespace Reelay.Emulators.Kernel;

/// <summary>One callback an EMULATOR sent: when its task finished upstream, when the callback left, and the answer.</summary>
/// <param name="TaskId">The emulator's task id.</param>
/// <param name="Url">Where it was sent.</param>
/// <param name="CompletedAt">When the task reached its terminal phase (the upstream completion time).</param>
/// <param name="SentAt">When the callback request left.</param>
/// <param name="Status">The HTTP status of the answer, or null when it could not be delivered.</param>
public sealed record SentCallback(string TaskId, Uri Url, DateTimeOffset CompletedAt, DateTimeOffset SentAt, int? Status);

/// <summary>
/// Callbacks of an EMULATOR: when a submit carried a callback URL, the emulator POSTs to it once its task finishes (on the
/// emulator's clock), and records what it sent. The request is built by the emulator (its own body shape and headers).
/// The callback goes out over the network (loopback in tests) with a plain client: it is the upstream calling Reelay.
/// </summary>
public sealed class EmulatorCallbacks : IAsyncDisposable
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentQueue<SentCallback> _sent = new();
    private readonly ConcurrentDictionary<Task, byte> _pending = new();
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Turn off to let submits carry a callback URL but never call it (to measure without callbacks).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Every callback sent, in order.</summary>
    public IReadOnlyList<SentCallback> Sent => [.. _sent];

    /// <summary>Calls <paramref name="url"/> with the request <paramref name="build"/> makes once <paramref name="task"/> has finished.</summary>
    public void OnFinish(EmulatedTask task, Uri url, TimeProvider time, Func<EmulatedTask, HttpRequestMessage> build)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(build);
        var work = Task.Run(async () =>
        {
            try
            {
                var end = task.FinishedAt(DateTimeOffset.MaxValue)!.Value;
                var wait = end - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, _stop.Token).ConfigureAwait(false);
                }

                if (!Enabled || task.CancelledAt is not null)
                {
                    return;
                }

                using var request = build(task);
                request.RequestUri = url;
                var sentAt = time.GetUtcNow();
                int? status = null;
                try
                {
                    using var response = await Client.SendAsync(request, _stop.Token).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                }

                _sent.Enqueue(new SentCallback(task.Id, url, end, sentAt, status));
            }
            catch (OperationCanceledException)
            {
            }
        });
        _pending.TryAdd(work, 0);
        work.ContinueWith(t => _pending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_pending.Keys).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
