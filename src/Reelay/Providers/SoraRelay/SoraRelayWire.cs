using System.Text.Json.Serialization;

namespace Reelay.Providers.SoraRelay;

/// <summary>
/// POST /v2/videos/generations body (provider-apis.md §3.2). duration is a string enum ("10", "15", "25"; seed 004 also
/// lists "4", "8", "12"); hd, watermark and private are booleans. notify_hook is never sent: Reelay polls.
/// </summary>
internal sealed class SoraRelayCreate
{
    [JsonPropertyName("prompt")]
    public required string Prompt { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>Data URIs, as the Comfly client sends; only for image-to-video.</summary>
    [JsonPropertyName("images")]
    public string[]? Images { get; init; }

    [JsonPropertyName("aspect_ratio")]
    public required string AspectRatio { get; init; }

    [JsonPropertyName("hd")]
    public bool Hd { get; init; }

    [JsonPropertyName("duration")]
    public required string Duration { get; init; }

    [JsonPropertyName("watermark")]
    public bool? Watermark { get; init; }

    [JsonPropertyName("private")]
    public bool? Private { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SoraRelayCreate))]
internal sealed partial class SoraRelayJsonContext : JsonSerializerContext;
