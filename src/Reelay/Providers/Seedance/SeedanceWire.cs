using System.Text.Json.Serialization;

namespace Reelay.Providers.Seedance;

/// <summary>POST {base}/contents/generations/tasks body (provider-apis-live.md §1.4); output specs as strict body fields, never prompt flags.</summary>
internal sealed class SeedanceCreate
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("content")]
    public required List<SeedanceContent> Content { get; init; }

    [JsonPropertyName("resolution")]
    public string? Resolution { get; init; }

    [JsonPropertyName("ratio")]
    public string? Ratio { get; init; }

    [JsonPropertyName("duration")]
    public int Duration { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    [JsonPropertyName("camera_fixed")]
    public bool? CameraFixed { get; init; }

    [JsonPropertyName("watermark")]
    public bool Watermark { get; init; }

    [JsonPropertyName("generate_audio")]
    public bool? GenerateAudio { get; init; }

    [JsonPropertyName("execution_expires_after")]
    public int? ExecutionExpiresAfter { get; init; }

    /// <summary>Where Ark POSTs the task on each status change (unsigned: Reelay only polls sooner).</summary>
    [JsonPropertyName("callback_url")]
    public string? CallbackUrl { get; init; }
}

/// <summary>One content item: {"type":"text","text"} or {"type":"image_url","image_url":{"url"},"role"}.</summary>
internal sealed class SeedanceContent
{
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("text")]
    public string? Text { get; init; }

    [JsonPropertyName("image_url")]
    public SeedanceImageUrl? ImageUrl { get; init; }

    [JsonPropertyName("role")]
    public string? Role { get; init; }
}

/// <summary>The image_url object.</summary>
internal sealed class SeedanceImageUrl
{
    [JsonPropertyName("url")]
    public required string Url { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SeedanceCreate))]
internal sealed partial class SeedanceJsonContext : JsonSerializerContext;
