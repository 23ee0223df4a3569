namespace Reelay.Providers;

/// <summary>
/// The moment a submit's request leaves for the upstream. The engine opens a scope around
/// <see cref="IVideoProvider.SubmitAsync"/> with a callback that durably records the call on the job (attempt, deployment,
/// client reference, time); <see cref="Http.UpstreamHttpClient"/> runs it after waiting for a rate-limit permit and
/// immediately before sending the first request of the scope, so every HTTP adapter records its submit without code of
/// its own. A provider that reaches its upstream some other way calls <see cref="BeforeSendAsync"/> itself. A job left in
/// submitting without the record of its current attempt therefore never reached the upstream on that attempt.
/// </summary>
public static class SubmitSend
{
    private static readonly AsyncLocal<Scope?> Current = new();

    /// <summary>
    /// Starts a scope: the first <see cref="BeforeSendAsync"/> inside it (on this async flow) runs <paramref name="record"/>
    /// once; later ones wait for that same run. Dispose the result when the submit returns.
    /// </summary>
    public static IDisposable Begin(Func<CancellationToken, Task> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var scope = new Scope(record, Current.Value);
        Current.Value = scope;
        return scope;
    }

    /// <summary>
    /// Records the submit call of the current scope, once, before a request is sent; does nothing outside a scope (polls,
    /// downloads, probes). Throws <see cref="SubmitAbandonedException"/> when the job may no longer be submitted (it was
    /// cancelled meanwhile): the request must then not be sent.
    /// </summary>
    public static Task BeforeSendAsync(CancellationToken cancellationToken) =>
        Current.Value is { } scope ? scope.RunAsync(cancellationToken) : Task.CompletedTask;

    private sealed class Scope(Func<CancellationToken, Task> record, Scope? previous) : IDisposable
    {
        private readonly Lock _gate = new();
        private Task? _run;

        public Task RunAsync(CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                return _run ??= record(cancellationToken);
            }
        }

        public void Dispose() => Current.Value = previous;
    }
}

/// <summary>Thrown before a submit request is sent when the job may no longer be submitted (cancelled, failed by its deadline).</summary>
public sealed class SubmitAbandonedException(string jobId)
    : Exception($"Job {jobId} is no longer being submitted; its request was not sent.")
{
    /// <summary>The job.</summary>
    public string JobId { get; } = jobId;
}
