using System.Text.Json.Serialization;

namespace Reelay.Providers.ModelVerse;

/// <summary>POST /v1/tasks/submit body.</summary>
internal sealed class ModelVerseSubmit
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("input")]
    public required ModelVerseInput Input { get; init; }

    [JsonPropertyName("parameters")]
    public required ModelVerseParameters Parameters { get; init; }
}

/// <summary>The input object.</summary>
internal sealed class ModelVerseInput
{
    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("first_frame_url")]
    public string? FirstFrameUrl { get; init; }
}

/// <summary>The parameters object; only the fields the model takes are sent.</summary>
internal sealed class ModelVerseParameters
{
    [JsonPropertyName("vidu_type")]
    public string? ViduType { get; init; }

    [JsonPropertyName("size")]
    public string? Size { get; init; }

    [JsonPropertyName("resolution")]
    public string? Resolution { get; init; }

    [JsonPropertyName("duration")]
    public int Duration { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    [JsonPropertyName("movement_amplitude")]
    public string? MovementAmplitude { get; init; }

    [JsonPropertyName("bgm")]
    public bool? Bgm { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelVerseSubmit))]
internal sealed partial class ModelVerseJsonContext : JsonSerializerContext;
