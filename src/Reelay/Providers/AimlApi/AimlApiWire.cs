using System.Text.Json.Serialization;

namespace Reelay.Providers.AimlApi;

/// <summary>
/// POST /v2/video/generations body (provider-apis.md §2.1). Only the fields the model takes are sent; duration is an
/// integer even though one schema revision quotes its default as a string.
/// </summary>
internal sealed class AimlApiCreate
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    /// <summary>A data URI ("a URL or a Base64-encoded image"): self-describing, so the media type travels with it.</summary>
    [JsonPropertyName("image_url")]
    public string? ImageUrl { get; init; }

    [JsonPropertyName("resolution")]
    public string? Resolution { get; init; }

    [JsonPropertyName("aspect_ratio")]
    public string? AspectRatio { get; init; }

    [JsonPropertyName("duration")]
    public int Duration { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AimlApiCreate))]
internal sealed partial class AimlApiJsonContext : JsonSerializerContext;
