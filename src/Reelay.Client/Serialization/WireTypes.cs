using System.Text.Json.Serialization;

namespace Reelay.Client.Serialization;

/// <summary>The JSON body of <c>POST /v1/videos</c>.</summary>
internal sealed class CreateVideoBody
{
    public string? Model { get; init; }

    public string? Prompt { get; init; }

    public string? Seconds { get; init; }

    public string? Size { get; init; }

    public InputReference? InputReference { get; init; }

    public long? Seed { get; init; }

    public List<string>? Characters { get; init; }
}

/// <summary>The JSON body of remix, edits and extensions.</summary>
internal sealed class DerivedVideoBody
{
    public string? Prompt { get; init; }

    public string? Seconds { get; init; }

    public string? Size { get; init; }

    public VideoReference? Video { get; init; }
}

internal sealed class VideoReference
{
    public string? Id { get; init; }
}

internal sealed class InputReference
{
    public string? ImageUrl { get; init; }
}

internal sealed class ModelList
{
    public string? Object { get; init; }

    public List<ModelInfo> Data { get; init; } = [];
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(Video))]
[JsonSerializable(typeof(VideoList))]
[JsonSerializable(typeof(VideoDeletion))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(CreateVideoBody))]
[JsonSerializable(typeof(DerivedVideoBody))]
[JsonSerializable(typeof(Character))]
internal sealed partial class ReelayJsonContext : JsonSerializerContext;
