using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Routing;

/// <summary>The state of one provider instance's circuit.</summary>
public enum CircuitState
{
    /// <summary>Healthy: routing uses the instance.</summary>
    Closed = 0,

    /// <summary>Cooling off after repeated failures: routing skips the instance until the break ends.</summary>
    Open = 1,

    /// <summary>The break ended: one trial submit is let through; its outcome closes or re-opens the circuit.</summary>
    HalfOpen = 2,
}

/// <summary>A point-in-time view of one instance's circuit, for /readyz, the admin API, the dashboard and the CLI.</summary>
/// <param name="Provider">The provider instance name.</param>
/// <param name="State">Its state (an open circuit whose break has ended reads as half-open).</param>
/// <param name="ConsecutiveFailures">Failures in a row since the last success.</param>
/// <param name="OpenUntil">When the current break ends (open state only).</param>
/// <param name="LastFailure">What the last counted failure was (an error code and message, never a credential).</param>
public sealed record CircuitSnapshot(string Provider, CircuitState State, int ConsecutiveFailures, DateTimeOffset? OpenUntil, string? LastFailure);

/// <summary>
/// One circuit per provider instance, on this node (each gateway node keeps its own; nothing is shared through the store).
/// A submit outcome of the kinds that mean "the instance is sick" (5xx, timeout, no connection: upstream_unavailable or
/// upstream_timeout; a refused credential or account: upstream_auth, upstream_quota) counts as a failure; an answer that
/// proves the instance works (accepted, or a refusal of the request itself such as invalid_request or
/// moderation_blocked) resets the count; a 429 counts as neither. After
/// <see cref="CircuitOptions.FailureThreshold"/> failures in a row the circuit opens for
/// <see cref="CircuitOptions.BreakDuration"/>: routing prefers other deployments and the scheduler does not call the
/// instance. When the break ends, one trial submit is let through (half-open): a success closes the circuit, a failure opens
/// it for another break.
/// </summary>
/// <remarks>
/// Hand-written rather than Polly's circuit breaker, on purpose: Polly's breaker guards an execution (the call runs
/// through the pipeline and a broken circuit throws), moves from open to half-open only when a call is attempted, and
/// exposes no "open until". Routing needs the opposite: to ask every instance's state without calling it (to order
/// failover), to know when a break ends (to tell a waiting job when to come back) and to hand the single half-open trial to
/// exactly one job among several nodes' worth of lanes. Wrapping Polly would mean keeping a shadow copy of its timing next
/// to it; the state machine itself is the ~100 lines below, unit-tested with a fake clock.
/// </remarks>
public sealed partial class ProviderCircuits
{
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Dictionary<string, Circuit> _circuits = new(StringComparer.Ordinal);

    /// <summary>Creates one circuit per named instance with its options; instances not named here (the sandbox) have none.</summary>
    public ProviderCircuits(IReadOnlyDictionary<string, CircuitOptions> instances, TimeProvider time, ILogger<ProviderCircuits> logger)
    {
        ArgumentNullException.ThrowIfNull(instances);
        _time = time;
        _log = logger;
        foreach (var (name, options) in instances)
        {
            if (options.Enabled)
            {
                _circuits[name] = new Circuit(name, options);
            }
        }

        ReelayTelemetry.ObserveCircuits(this);
    }

    /// <summary>No circuits at all (an embedder without configured instances).</summary>
    public static ProviderCircuits None(TimeProvider time, ILogger<ProviderCircuits> logger) => new(new Dictionary<string, CircuitOptions>(), time, logger);

    /// <summary>
    /// Whether routing should send a new job to <paramref name="provider"/> now: closed, or open with its break over (a
    /// trial is due), or half-open with no trial in flight. Reads only; <see cref="TryAcquire"/> takes the trial.
    /// </summary>
    public bool IsAvailable(string provider)
    {
        if (!_circuits.TryGetValue(provider, out var c))
        {
            return true;
        }

        lock (c)
        {
            var now = _time.GetUtcNow();
            return c.State switch
            {
                CircuitState.Closed => true,
                CircuitState.Open => now >= c.OpenUntil,
                _ => c.TrialUntil is null || now >= c.TrialUntil,
            };
        }
    }

    /// <summary>
    /// Right before a submit to <paramref name="provider"/>: true when the call may go (closed; or the single half-open
    /// trial, which this call takes). False while the circuit is open or another job holds the trial, with
    /// <paramref name="retryIn"/> the time until the instance may be tried again.
    /// </summary>
    public bool TryAcquire(string provider, out TimeSpan retryIn)
    {
        retryIn = TimeSpan.Zero;
        if (!_circuits.TryGetValue(provider, out var c))
        {
            return true;
        }

        lock (c)
        {
            var now = _time.GetUtcNow();
            if (c.State == CircuitState.Open && now >= c.OpenUntil)
            {
                Move(c, CircuitState.HalfOpen, null);
            }

            switch (c.State)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.Open:
                    retryIn = c.OpenUntil - now;
                    return false;
                default:
                    // A trial whose outcome never came back (the job was cancelled mid-call, the node stopped) expires
                    // after one break, so the circuit cannot stay half-open for ever.
                    if (c.TrialUntil is { } until && now < until)
                    {
                        retryIn = until - now;
                        return false;
                    }

                    c.TrialUntil = now + c.Options.BreakDuration;
                    return true;
            }
        }
    }

    /// <summary>Counts a submit outcome of <paramref name="provider"/> (see the class remarks for what counts how).</summary>
    public void Record(string provider, SubmitOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        switch (Classify(outcome))
        {
            case Verdict.Success:
                RecordSuccess(provider);
                break;
            case Verdict.Failure:
                RecordFailure(provider, outcome switch
                {
                    SubmitOutcome.Rejected r => r.Error,
                    SubmitOutcome.RetryLater r => r.Reason,
                    _ => null,
                });
                break;
        }
    }

    /// <summary>The instance answered in a way that proves it works: close the circuit and reset the count.</summary>
    public void RecordSuccess(string provider)
    {
        if (!_circuits.TryGetValue(provider, out var c))
        {
            return;
        }

        lock (c)
        {
            c.Failures = 0;
            c.TrialUntil = null;
            if (c.State != CircuitState.Closed)
            {
                Move(c, CircuitState.Closed, null);
            }
        }
    }

    /// <summary>The instance failed in a way that means it is sick: count it, and open the circuit at the threshold (or at once when half-open).</summary>
    public void RecordFailure(string provider, JobError? error)
    {
        if (!_circuits.TryGetValue(provider, out var c))
        {
            return;
        }

        lock (c)
        {
            c.Failures++;
            c.LastFailure = error is null ? null : $"{error.Code}: {error.Message}";
            if (c.State == CircuitState.HalfOpen || (c.State == CircuitState.Closed && c.Failures >= c.Options.FailureThreshold))
            {
                c.OpenUntil = _time.GetUtcNow() + c.Options.BreakDuration;
                c.TrialUntil = null;
                Move(c, CircuitState.Open, c.LastFailure);
            }
        }
    }

    /// <summary>The state of <paramref name="provider"/>'s circuit, or null when it has none (the sandbox, or circuits turned off).</summary>
    public CircuitSnapshot? Get(string provider)
    {
        if (!_circuits.TryGetValue(provider, out var c))
        {
            return null;
        }

        lock (c)
        {
            var now = _time.GetUtcNow();
            var state = c.State == CircuitState.Open && now >= c.OpenUntil ? CircuitState.HalfOpen : c.State;
            return new CircuitSnapshot(c.Name, state, c.Failures, state == CircuitState.Open ? c.OpenUntil : null, c.LastFailure);
        }
    }

    /// <summary>Every instance's circuit, by name.</summary>
    public IReadOnlyList<CircuitSnapshot> Snapshot() => _circuits.Keys.Order(StringComparer.Ordinal).Select(n => Get(n)!).ToList();

    /// <summary>How an outcome counts; pure.</summary>
    public static Verdict Classify(SubmitOutcome outcome) => outcome switch
    {
        SubmitOutcome.Accepted => Verdict.Success,
        SubmitOutcome.Rejected { Error.Code: ErrorCodes.UpstreamAuth or ErrorCodes.UpstreamQuota } => Verdict.Failure,
        SubmitOutcome.Rejected => Verdict.Success,
        SubmitOutcome.RetryLater { Reason.Code: ErrorCodes.UpstreamUnavailable or ErrorCodes.UpstreamTimeout } => Verdict.Failure,
        _ => Verdict.Neutral,
    };

    private void Move(Circuit c, CircuitState to, string? reason)
    {
        var from = c.State;
        c.State = to;
        ReelayTelemetry.CircuitChanged(c.Name, to);
        switch (to)
        {
            case CircuitState.Open:
                Opened(_log, c.Name, from, c.Failures, c.Options.BreakDuration, reason ?? "");
                break;
            case CircuitState.HalfOpen:
                HalfOpened(_log, c.Name);
                break;
            default:
                Closed(_log, c.Name, from);
                break;
        }
    }

    /// <summary>How a submit outcome counts for the circuit.</summary>
    public enum Verdict
    {
        /// <summary>Neither (a 429: the instance works but is busy).</summary>
        Neutral,

        /// <summary>The instance works.</summary>
        Success,

        /// <summary>The instance is sick.</summary>
        Failure,
    }

    private sealed class Circuit(string name, CircuitOptions options)
    {
        public string Name { get; } = name;
        public CircuitOptions Options { get; } = options;
        public CircuitState State { get; set; }
        public int Failures { get; set; }
        public DateTimeOffset OpenUntil { get; set; }
        public DateTimeOffset? TrialUntil { get; set; }
        public string? LastFailure { get; set; }
    }

    [LoggerMessage(LogEventIds.Routing + 1, LogLevel.Warning, "Circuit of provider {Provider} opened (was {From}) after {Failures} failures in a row; routing skips it for {BreakDuration}. Last failure: {Reason}")]
    private static partial void Opened(ILogger logger, string provider, CircuitState from, int failures, TimeSpan breakDuration, string reason);

    [LoggerMessage(LogEventIds.Routing + 2, LogLevel.Information, "Circuit of provider {Provider} is half-open: one trial submit goes through")]
    private static partial void HalfOpened(ILogger logger, string provider);

    [LoggerMessage(LogEventIds.Routing + 3, LogLevel.Information, "Circuit of provider {Provider} closed (was {From}): the instance answered again")]
    private static partial void Closed(ILogger logger, string provider, CircuitState from);
}

/// <summary>The circuit of one provider instance, under <c>Reelay:Providers:&lt;name&gt;:Circuit</c>.</summary>
public sealed class CircuitOptions
{
    /// <summary>Set false to never skip this instance (every job pays its failures).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Submit failures in a row (5xx, timeout, no connection, refused key or account) that open the circuit.</summary>
    public int FailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit keeps routing away from the instance before one trial submit.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every problem with these settings, each naming its key under <paramref name="key"/>.</summary>
    public IEnumerable<string> Validate(string key)
    {
        if (FailureThreshold is < 1 or > 1000)
        {
            yield return $"{key}:FailureThreshold must be 1 to 1000 (got {FailureThreshold}).";
        }

        if (BreakDuration < TimeSpan.FromMilliseconds(100) || BreakDuration > TimeSpan.FromHours(1))
        {
            yield return $"{key}:BreakDuration must be 100 ms to 1 hour (got {BreakDuration}).";
        }
    }
}
