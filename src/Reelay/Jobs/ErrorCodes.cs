namespace Reelay.Jobs;

/// <summary>The canonical error taxonomy. Each dialect renders these in its own envelope.</summary>
public static class ErrorCodes
{
    /// <summary>The request is malformed or a field has a value that is not allowed (the field is named).</summary>
    public const string InvalidRequest = "invalid_request";
    /// <summary>The model is unknown, or has no deployment that can serve it.</summary>
    public const string UnsupportedModel = "unsupported_model";
    /// <summary>The input image's format, size, ratio or dimensions are not acceptable.</summary>
    public const string ImageInvalid = "image_invalid";
    /// <summary>Moderation blocked the job; the stage says where (prompt, input_image, output).</summary>
    public const string ModerationBlocked = "moderation_blocked";
    /// <summary>The upstream refused our credentials.</summary>
    public const string UpstreamAuth = "upstream_auth";
    /// <summary>The upstream account ran out of quota or credit.</summary>
    public const string UpstreamQuota = "upstream_quota";
    /// <summary>The upstream rate-limited us.</summary>
    public const string UpstreamRateLimited = "upstream_rate_limited";
    /// <summary>The upstream failed or could not be reached.</summary>
    public const string UpstreamUnavailable = "upstream_unavailable";
    /// <summary>The upstream did not answer in time.</summary>
    public const string UpstreamTimeout = "upstream_timeout";
    /// <summary>A crash during submit left it unknown whether the upstream accepted the job.</summary>
    public const string SubmitOutcomeUnknown = "submit_outcome_unknown";
    /// <summary>The job did not finish before its deadline.</summary>
    public const string DeadlineExceeded = "deadline_exceeded";
    /// <summary>The job was cancelled.</summary>
    public const string Cancelled = "cancelled";
    /// <summary>The key's budget cannot cover the job.</summary>
    public const string QuotaExceeded = "quota_exceeded";
    /// <summary>The key sent too many requests.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>No valid API key.</summary>
    public const string Unauthorized = "unauthorized";
    /// <summary>The key may not do this (an admin route, or a model outside its allowlist).</summary>
    public const string Forbidden = "forbidden";
    /// <summary>No such job (or not one the caller may see).</summary>
    public const string NotFound = "not_found";
    /// <summary>The request conflicts with the job's current state.</summary>
    public const string Conflict = "conflict";
    /// <summary>The request or upload is larger than allowed.</summary>
    public const string PayloadTooLarge = "payload_too_large";
    /// <summary>The job's content has expired and was deleted.</summary>
    public const string Gone = "gone";
    /// <summary>Something failed inside Reelay.</summary>
    public const string Internal = "internal";
    /// <summary>This gateway takes no new jobs right now (it is stopping); try again after Retry-After.</summary>
    public const string Unavailable = "unavailable";
    /// <summary>The sandbox renderer failed.</summary>
    public const string RenderFailed = "render_failed";

    /// <summary>The HTTP status a dialect uses for a request-level error with this code.</summary>
    public static int HttpStatus(string code) => code switch
    {
        InvalidRequest or ImageInvalid or ModerationBlocked => 400,
        UnsupportedModel => 400,
        Unauthorized => 401,
        Forbidden => 403,
        QuotaExceeded => 402,
        NotFound => 404,
        Conflict => 409,
        Gone => 410,
        PayloadTooLarge => 413,
        RateLimited => 429,
        UpstreamAuth or UpstreamQuota or UpstreamUnavailable or UpstreamRateLimited => 502,
        UpstreamTimeout => 504,
        Unavailable => 503,
        _ => 500,
    };
}
