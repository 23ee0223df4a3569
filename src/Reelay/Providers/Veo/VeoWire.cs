using System.Text.Json.Serialization;

namespace Reelay.Providers.Veo;

/// <summary>POST {base}/models/{model}:predictLongRunning body (provider-apis-live.md §2.4).</summary>
internal sealed class VeoPredict
{
    [JsonPropertyName("instances")]
    public required List<VeoInstance> Instances { get; init; }

    [JsonPropertyName("parameters")]
    public required VeoParameters Parameters { get; init; }

    /// <summary>The per-request webhook (provider-apis-live.md §2.4: top-level, a sibling of instances), when callbacks are on.</summary>
    [JsonPropertyName("webhookConfig")]
    public VeoWebhookConfig? WebhookConfig { get; set; }
}

/// <summary>{"uris": [the job's callback URL]}; Google signs each delivery with an RS256 JWT whose aud is the uri.</summary>
internal sealed class VeoWebhookConfig
{
    [JsonPropertyName("uris")]
    public required List<string> Uris { get; init; }
}

/// <summary>One instance: the prompt and, for image-to-video, the first frame inline.</summary>
internal sealed class VeoInstance
{
    /// <summary>For an extension: the previous Veo output to continue ({"uri": its file uri}).</summary>
    [JsonPropertyName("video")]
    public VeoVideo? Video { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("image")]
    public VeoImage? Image { get; init; }

    /// <summary>The last frame, with <see cref="Image"/> (first+last frame).</summary>
    [JsonPropertyName("lastFrame")]
    public VeoImage? LastFrame { get; init; }

    /// <summary>Reference images (at most 3, not with an image or last frame).</summary>
    [JsonPropertyName("referenceImages")]
    public List<VeoReferenceImage>? ReferenceImages { get; init; }
}

/// <summary>{"image": {...}, "referenceType": "asset"} (provider-apis-live.md §2.4).</summary>
internal sealed class VeoReferenceImage
{
    [JsonPropertyName("image")]
    public required VeoImage Image { get; init; }

    [JsonPropertyName("referenceType")]
    public string ReferenceType { get; init; } = "asset";
}

/// <summary>{"inlineData":{"mimeType","data"}}, the documented REST form.</summary>
internal sealed class VeoImage
{
    [JsonPropertyName("inlineData")]
    public required VeoInlineData InlineData { get; init; }
}

/// <summary>A previous Veo output, by the uri its operation reported (provider-apis-live.md §2.4, extension).</summary>
internal sealed class VeoVideo
{
    [JsonPropertyName("uri")]
    public required string Uri { get; init; }
}

/// <summary>The inline bytes.</summary>
internal sealed class VeoInlineData
{
    [JsonPropertyName("mimeType")]
    public required string MimeType { get; init; }

    [JsonPropertyName("data")]
    public required string Data { get; init; }
}

/// <summary>The parameters; personGeneration is never sent (its allowed values vary by mode and region).</summary>
internal sealed class VeoParameters
{
    [JsonPropertyName("aspectRatio")]
    public required string AspectRatio { get; init; }

    [JsonPropertyName("resolution")]
    public required string Resolution { get; init; }

    [JsonPropertyName("durationSeconds")]
    public int DurationSeconds { get; init; }

    [JsonPropertyName("negativePrompt")]
    public string? NegativePrompt { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VeoPredict))]
internal sealed partial class VeoJsonContext : JsonSerializerContext;
