using System.Text.Json;
using System.Text.Json.Serialization;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Vidu;

/// <summary>
/// The body of POST /ent/v2/img2video and of POST /ent/v2/text2video. Only fields the endpoint takes may be sent (Vidu
/// refuses others as FieldUnwanted): <see cref="Images"/> is img2video's alone, <see cref="AspectRatio"/> and
/// <see cref="Bgm"/> text2video's alone, and a null field is left out.
/// </summary>
internal sealed class ViduCreate
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>img2video only: the first frame.</summary>
    [JsonPropertyName("images")]
    public IReadOnlyList<string>? Images { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("duration")]
    public int Duration { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    /// <summary>text2video only (an image's own ratio shapes img2video).</summary>
    [JsonPropertyName("aspect_ratio")]
    public string? AspectRatio { get; init; }

    [JsonPropertyName("resolution")]
    public string? Resolution { get; init; }

    [JsonPropertyName("movement_amplitude")]
    public string? MovementAmplitude { get; init; }

    /// <summary>text2video only.</summary>
    [JsonPropertyName("bgm")]
    public bool? Bgm { get; init; }

    [JsonPropertyName("watermark")]
    public bool? Watermark { get; init; }

    [JsonPropertyName("payload")]
    public string? Payload { get; init; }

    /// <summary>Where Vidu POSTs the task on each status change (its signature is not documented: Reelay only polls sooner).</summary>
    [JsonPropertyName("callback_url")]
    public string? CallbackUrl { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ViduCreate))]
internal sealed partial class ViduJsonContext : JsonSerializerContext;

/// <summary>
/// Vidu's error vocabulary: HTTP errors carry {"code","reason","message","metadata"} and a failed task carries err_code,
/// both from one table of reasons [3p copies of Vidu's error-code table; the reference notes it as NOT FOUND]. The
/// reason decides the class before the HTTP status does, because Vidu sends moderation and credit problems as 4xx.
/// </summary>
internal static class ViduErrors
{
    /// <summary>The reason (err_code) of an error body, tolerant of other envelopes.</summary>
    public static string? Reason(JsonElement? root) => root is { } r
        ? UpstreamJson.Str(r, "reason") ?? UpstreamJson.Str(r, "err_code") ?? UpstreamJson.Str(r, "error", "code") ?? UpstreamJson.Str(r, "error", "reason")
        : null;

    /// <summary>The message of an error body, tolerant of other envelopes.</summary>
    public static string? Message(JsonElement? root) => root is { } r
        ? UpstreamJson.Str(r, "message") ?? UpstreamJson.Str(r, "error", "message") ?? UpstreamJson.Str(r, "error") ?? UpstreamJson.Str(r, "msg")
        : null;

    /// <summary>Reasons that mean "slow down": throttling, and QuotaExceeded, which is Vidu's concurrency limit (not credit).</summary>
    public static bool IsThrottle(string? reason) => reason is "TooManyRequests" or "SystemThrottling" or "QuotaExceeded";

    /// <summary>
    /// The canonical error for a reason that names its class (moderation with its stage, credit, the first frame), or null
    /// when only the HTTP status or a generic failure can say.
    /// </summary>
    public static JobError? Known(string provider, string? reason, string? message, VideoMode mode)
    {
        var text = UpstreamErrors.Clean(message);
        var said = text.Length > 0 && text != reason ? $" ({reason}: {text})" : $" ({reason})";
        var stage = reason switch
        {
            "TaskPromptPolicyViolation" => "prompt",
            "AuditSubmitIllegal" => mode == VideoMode.ImageToVideo ? "input_image" : "prompt", // "the input did not pass the safety review"
            "CreationPolicyViolation" => "output",
            _ => null,
        };
        if (stage is not null)
        {
            return new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation ({stage}){said}.", Stage: stage);
        }

        return reason switch
        {
            "CreditInsufficient" => new JobError(ErrorCodes.UpstreamQuota, $"Provider '{provider}' refused: the account is out of credit{said}."),
            "ImageFormatInvalid" or "ImageDownloadFailure" or "PageSizeOutOfRange" or "ImageCheckBodyJointsFailed" or "ImageCheckFaceFailed" or "ImageObjectsUndetected"
                => new JobError(ErrorCodes.ImageInvalid, $"Provider '{provider}' refused the first frame{said}.", "first_frame"),
            "UserCancelled" or "Canceled" => new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{provider}' reports the task was cancelled upstream{said}."),
            _ => null,
        };
    }
}
