using System.Text.Json.Serialization;

namespace Reelay.Providers.Kling;

/// <summary>POST /v1/videos/text2video and /v1/videos/image2video body (provider-apis-live.md §4.3); only the fields a job uses.</summary>
internal sealed class KlingCreate
{
    [JsonPropertyName("model_name")]
    public required string ModelName { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("negative_prompt")]
    public string? NegativePrompt { get; init; }

    /// <summary>Raw Base64 of the first frame (no data: prefix), image2video only.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; init; }

    /// <summary>Raw Base64 of the end frame (first+last frame), image2video only.</summary>
    [JsonPropertyName("image_tail")]
    public string? ImageTail { get; init; }

    /// <summary>std (720p) or pro (1080p).</summary>
    [JsonPropertyName("mode")]
    public required string Mode { get; init; }

    /// <summary>text2video only; image2video follows the image.</summary>
    [JsonPropertyName("aspect_ratio")]
    public string? AspectRatio { get; init; }

    /// <summary>"5" or "10": a string.</summary>
    [JsonPropertyName("duration")]
    public required string Duration { get; init; }

    /// <summary>on or off (v2.6 and later).</summary>
    [JsonPropertyName("sound")]
    public string? Sound { get; init; }

    [JsonPropertyName("external_task_id")]
    public string? ExternalTaskId { get; init; }

    /// <summary>Where Kling POSTs the task on each status change (unsigned: Reelay only polls sooner).</summary>
    [JsonPropertyName("callback_url")]
    public string? CallbackUrl { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KlingCreate))]
internal sealed partial class KlingJsonContext : JsonSerializerContext;
