using Reelay.Jobs;

namespace Reelay.Accounts;

/// <summary>
/// The account side of a submit: idempotent replays, the key's submit rule, and the hold taken with the job's insert.
/// </summary>
public sealed class Admissions(IAccountStore store, ApiKeyService keys, PriceTable prices, ReelayOptions options, TimeProvider time)
{
    /// <summary>The prices.</summary>
    public PriceTable Prices => prices;

    /// <summary>
    /// For a request carrying an idempotency key already used by its owner: the original job id when the request is the
    /// same, a conflict when it is not. Null when the key is new (or older than the retention).
    /// </summary>
    public async Task<string?> FindReplayAsync(JobRequest request, string fingerprint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.IdempotencyKey is not { } key)
        {
            return null;
        }

        var existing = await store.FindIdempotencyAsync(request.Owner, key, cancellationToken).ConfigureAwait(false);
        if (existing is null || existing.CreatedAt + options.Accounts.IdempotencyRetention <= time.GetUtcNow())
        {
            return null;
        }

        return Replay(key, existing, fingerprint);
    }

    /// <summary>The original job id for a replay, or a conflict when the request differs.</summary>
    public static string Replay(string key, IdempotencyRecord existing, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(existing);
        return existing.Fingerprint == fingerprint
            ? existing.JobId
            : throw new ReelayException(ErrorCodes.Conflict,
                $"Idempotency-Key '{key}' was already used with a different request (for video '{existing.JobId}'); send the same request to get that video again, or use a new key.",
                "Idempotency-Key");
    }

    /// <summary>The key's allowlist and submit rate.</summary>
    public ValueTask CheckSubmitAsync(JobRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return keys.CheckSubmitAsync(request.Owner, request.Model, cancellationToken);
    }

    /// <summary>What to take with the job's insert.</summary>
    public JobAdmission For(Job job, string? fingerprint)
    {
        ArgumentNullException.ThrowIfNull(job);
        var (tier, perSecond) = prices.PriceOf(job);
        return new JobAdmission
        {
            KeyId = job.Owner,
            Tier = tier,
            PricePerSecondMicros = perSecond,
            HoldMicros = checked(perSecond * job.DurationSeconds),
            IdempotencyKey = job.IdempotencyKey,
            Fingerprint = fingerprint,
        };
    }

    /// <summary>The client-facing error for a refused admission.</summary>
    public ReelayException Refused(AdmissionRefusedException refusal, JobAdmission admission)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        ArgumentNullException.ThrowIfNull(admission);
        var key = refusal.Key;
        return refusal.Reason switch
        {
            AdmissionRefusal.Budget => new ReelayException(ErrorCodes.QuotaExceeded,
                $"This API key's budget cannot cover the job: it needs {Money.Format(admission.HoldMicros)} ({Money.Format(admission.PricePerSecondMicros)}/s at {admission.Tier}) and {Money.Format(Math.Max(0, key?.AvailableMicros ?? 0))} is available.",
                "budget"),
            AdmissionRefusal.InFlight => new ReelayException(
                new JobError(ErrorCodes.RateLimited, $"This API key has {key?.JobsInFlight} unfinished jobs, its limit; submit again when one finishes."),
                options.Accounts.InFlightRetryAfter),
            _ => new ReelayException(ErrorCodes.Unauthorized, "This API key is revoked or expired."),
        };
    }
}
