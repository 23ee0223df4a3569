using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Reelay.Jobs;

namespace Reelay.Providers.Http;

/// <summary>
/// Classifies upstream answers into the canonical taxonomy. Shared by every adapter so that "429 means retry later
/// with Retry-After" and "a poll that fails is not a job that fails" hold everywhere. Messages passed to clients are
/// Reelay's own words plus a cleaned, shortened upstream message: never a raw body, a URL query or a credential.
/// </summary>
public static partial class UpstreamErrors
{
    /// <summary>Error codes that belong to one deployment (its key or its account), so another deployment may succeed.</summary>
    public static bool IsDeploymentSpecific(string code) => SubmitOutcome.Rejected.IsDeploymentSpecific(new JobError(code, ""));

    /// <summary>A submit that failed below HTTP: never accepted as far as Reelay knows; retry or fail over.</summary>
    public static SubmitOutcome SubmitTransport(string provider, UpstreamTransportException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var code = ex.Kind == UpstreamFailureKind.Timeout ? ErrorCodes.UpstreamTimeout : ErrorCodes.UpstreamUnavailable;
        return new SubmitOutcome.RetryLater(new JobError(code, $"Provider '{provider}' failed: {ex.Message}."));
    }

    /// <summary>A poll that failed below HTTP: not a job failure.</summary>
    public static PollOutcome PollTransport(UpstreamTransportException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return new PollOutcome.RetryLater(ex.Message);
    }

    /// <summary>Classifies a non-2xx submit reply. <paramref name="message"/> and <paramref name="code"/> are the upstream's own, when it sent them.</summary>
    public static SubmitOutcome Submit(string provider, UpstreamReply reply, string? message, string? code)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var status = (int)reply.Status;
        var text = Clean(message);
        var said = text.Length > 0 ? $": {text}" : ".";
        switch (status)
        {
            case 429:
                return new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, $"Provider '{provider}' is rate limiting requests{said}"), reply.RetryAfter);
            case 408 or 504:
                return new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamTimeout, $"Provider '{provider}' timed out{said}"), reply.RetryAfter);
            case >= 500:
                return new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{provider}' answered HTTP {status}{said}"), reply.RetryAfter);
            case 402:
                return new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{provider}' refused: the account is out of credit{said}"));
            case 401 or 403:
                return LooksLikeQuota(message, code)
                    ? new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{provider}' refused: quota or credit exhausted{said}"))
                    : new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, $"Provider '{provider}' refused the gateway's credential (HTTP {status}). The operator must check its API key."));
            case >= 400:
                return new SubmitOutcome.Rejected(Refusal(provider, message, code));
            default:
                return new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{provider}' answered an unexpected HTTP {status}."));
        }
    }

    /// <summary>
    /// A 2xx submit reply with no readable task id: the upstream may have started (and will bill) a job Reelay cannot
    /// track, so it is never resubmitted; the outcome is unknown.
    /// </summary>
    public static SubmitOutcome SubmitWithoutTaskId(string provider) => SubmitWithoutTaskId(provider, "task id");

    /// <summary><see cref="SubmitWithoutTaskId(string)"/> in the upstream's words for its id (<paramref name="idName"/>: "request id", "operation name").</summary>
    public static SubmitOutcome SubmitWithoutTaskId(string provider, string idName) =>
        new SubmitOutcome.Rejected(new JobError(ErrorCodes.SubmitOutcomeUnknown, $"Provider '{provider}' answered the submit without a readable {idName}; it may have started the job. It was not resubmitted, to avoid paying twice."));

    /// <summary>Classifies a non-2xx poll reply: throttling, outages and timeouts are retried; a lost task fails.</summary>
    public static PollOutcome Poll(string provider, UpstreamReply reply, string? message, string? code)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var status = (int)reply.Status;
        return status switch
        {
            429 => new PollOutcome.RetryLater("the provider is rate limiting", reply.RetryAfter),
            408 or >= 500 => new PollOutcome.RetryLater($"the provider answered HTTP {status}", reply.RetryAfter),
            // A revoked or rotated key may come back; the job's deadline is the backstop.
            401 or 403 => new PollOutcome.RetryLater($"the provider refused the credential (HTTP {status})"),
            404 or 410 => new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{provider}' no longer knows this task (HTTP {status}).")),
            >= 400 => new PollOutcome.Failed(Refusal(provider, message, code)),
            _ => new PollOutcome.RetryLater($"the provider answered an unexpected HTTP {status}"),
        };
    }

    /// <summary>
    /// The error for a definite refusal or task failure: moderation (with its stage), a first-frame size mismatch, or an
    /// invalid request. <paramref name="message"/> is the upstream's message.
    /// </summary>
    public static JobError Refusal(string provider, string? message, string? code)
    {
        var text = Clean(message);
        if (Moderation(message, code) is { } moderation)
        {
            return moderation;
        }

        if (text.Contains("must match the requested width and height", StringComparison.OrdinalIgnoreCase))
        {
            return new JobError(ErrorCodes.ImageInvalid, $"Provider '{provider}' refused the first frame: {text}", "first_frame");
        }

        return new JobError(ErrorCodes.InvalidRequest, text.Length > 0 ? $"Provider '{provider}' refused the request: {text}" : $"Provider '{provider}' refused the request.");
    }

    /// <summary>A task that failed upstream (not an HTTP error): moderation with its stage, or a generic failure.</summary>
    public static JobError TaskFailed(string provider, string? message, string? code = null)
    {
        if (Moderation(message, code) is { } moderation)
        {
            return moderation;
        }

        var text = Clean(message);
        if (text.Contains("must match the requested width and height", StringComparison.OrdinalIgnoreCase))
        {
            return new JobError(ErrorCodes.ImageInvalid, $"Provider '{provider}' refused the first frame: {text}", "first_frame");
        }

        return new JobError(ErrorCodes.UpstreamUnavailable, text.Length > 0 ? $"The provider '{provider}' failed the task: {text}" : $"The provider '{provider}' failed the task without a reason.");
    }

    /// <summary>A moderation error with its stage (prompt, input_image or output) when the words say so; otherwise null.</summary>
    public static JobError? Moderation(string? message, string? code)
    {
        var haystack = $"{message} {code}";
        if (!ModerationWords().IsMatch(haystack))
        {
            return null;
        }

        var stage = OutputWords().IsMatch(haystack) ? "output" : ImageWords().IsMatch(haystack) ? "input_image" : "prompt";
        var text = Clean(message);
        return new JobError(ErrorCodes.ModerationBlocked, text.Length > 0 ? $"Blocked by the provider's moderation ({stage}): {text}" : $"Blocked by the provider's moderation ({stage}).", Stage: stage);
    }

    /// <summary>An upstream message made safe to show: one line, at most 300 characters, with key- and URL-like tokens removed.</summary>
    public static string Clean(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return "";
        }

        var text = Secrets().Replace(message, m => m.Groups["name"].Success ? $"{m.Groups["name"].Value}=[redacted]" : "[redacted]");
        text = Urls().Replace(text, "[url]");
        var sb = new StringBuilder(Math.Min(text.Length, 300));
        foreach (var c in text)
        {
            if (sb.Length >= 300)
            {
                sb.Append('…');
                break;
            }

            sb.Append(char.IsControl(c) ? ' ' : c);
        }

        return sb.ToString().Trim().TrimEnd('.');
    }

    private static bool LooksLikeQuota(string? message, string? code) => QuotaWords().IsMatch($"{message} {code}");

    [GeneratedRegex(@"moderat|sensitive|safety|policy|content[ _-]?filter|prohibited|blocked|violat|inappropriate|nsfw|real person|celebrit", RegexOptions.IgnoreCase)]
    private static partial Regex ModerationWords();

    [GeneratedRegex(@"output|generated|result|video review|post[- ]?generation", RegexOptions.IgnoreCase)]
    private static partial Regex OutputWords();

    [GeneratedRegex(@"image|first[ _]frame|input|photo|real person", RegexOptions.IgnoreCase)]
    private static partial Regex ImageWords();

    [GeneratedRegex(@"quota|credit|balance|insufficient|billing|payment|out of funds|limit_amount", RegexOptions.IgnoreCase)]
    private static partial Regex QuotaWords();

    [GeneratedRegex(@"(?<name>key_id|api[_-]?key|token|secret|authorization)\s*[=:]\s*\S+|\b(sk|rk|pk)[-_][A-Za-z0-9_\-]{8,}|\bBearer\s+\S+", RegexOptions.IgnoreCase)]
    private static partial Regex Secrets();

    [GeneratedRegex(@"https?://\S+", RegexOptions.IgnoreCase)]
    private static partial Regex Urls();

    /// <summary>The HTTP status as a number, for log lines.</summary>
    public static int Number(HttpStatusCode status) => (int)status;
}
