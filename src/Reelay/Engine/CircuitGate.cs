using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;

namespace Reelay.Engine;

/// <summary>The scheduler's use of the provider circuits around a submit (kept apart so the scheduler only calls it).</summary>
internal static class CircuitGate
{
    /// <summary>
    /// Null when the submit may go to <paramref name="provider"/> (closed, or the half-open trial); otherwise the outcome to
    /// use instead of calling it: retry later, after the break, so the policy fails the job over or waits without paying a timeout.
    /// </summary>
    public static SubmitOutcome? Skip(ProviderCircuits? circuits, string provider)
    {
        if (circuits is null || circuits.TryAcquire(provider, out var retryIn))
        {
            return null;
        }

        var after = retryIn < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : retryIn;
        return new SubmitOutcome.RetryLater(
            new JobError(ErrorCodes.UpstreamUnavailable, $"The provider instance '{provider}' kept failing; this gateway skips it for {after.TotalSeconds:0.#} s more (its circuit is open)."),
            after);
    }

    /// <summary>Counts a submit outcome that came from the provider (not from <see cref="Skip"/>).</summary>
    public static void Record(ProviderCircuits? circuits, string provider, SubmitOutcome outcome, SubmitOutcome? skipped)
    {
        if (skipped is null)
        {
            circuits?.Record(provider, outcome);
        }
    }
}
