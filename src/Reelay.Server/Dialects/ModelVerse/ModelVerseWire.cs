using System.Text.Json.Serialization;

namespace Reelay.Server.Dialects.ModelVerse;

internal sealed record ModelVerseSubmitOutput(string TaskId);

internal sealed record ModelVerseSubmitResponse(ModelVerseSubmitOutput Output, string RequestId);

internal sealed class ModelVerseTaskOutput
{
    public required string TaskId { get; init; }
    public required string TaskStatus { get; init; }
    public IReadOnlyList<string>? Urls { get; init; }
    public long SubmitTime { get; init; }
    public long? FinishTime { get; init; }
    public string? ErrorMessage { get; init; }
}

internal sealed record ModelVerseUsage(int Duration);

internal sealed class ModelVerseStatusResponse
{
    public required ModelVerseTaskOutput Output { get; init; }
    public ModelVerseUsage? Usage { get; init; }
    public required string RequestId { get; init; }
}

internal sealed record ModelVerseErrorBody(string Message, string Type, string? Param, string Code);

internal sealed record ModelVerseErrorEnvelope(ModelVerseErrorBody Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelVerseSubmitResponse))]
[JsonSerializable(typeof(ModelVerseStatusResponse))]
[JsonSerializable(typeof(ModelVerseErrorEnvelope))]
internal sealed partial class ModelVerseJsonContext : JsonSerializerContext;
