namespace Reelay.Client.Internal;

/// <summary>Links the caller's token with a per-call timeout and tells which one fired.</summary>
internal sealed class CallTimeout : IDisposable
{
    private readonly CancellationTokenSource? _timeout;
    private readonly CancellationTokenSource? _linked;

    public CallTimeout(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            Token = cancellationToken;
            return;
        }

        _timeout = new CancellationTokenSource(timeout, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
        Token = _linked.Token;
    }

    public CancellationToken Token { get; }

    public bool TimedOut => _timeout?.IsCancellationRequested == true;

    public void Dispose()
    {
        _linked?.Dispose();
        _timeout?.Dispose();
    }
}
