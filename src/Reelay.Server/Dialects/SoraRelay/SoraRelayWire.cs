using System.Text.Json.Serialization;

namespace Reelay.Server.Dialects.SoraRelay;

internal sealed record SoraRelaySubmitResponse(string TaskId);

/// <summary><c>data</c>: <c>output</c> (the video URL) only once the task succeeded.</summary>
internal sealed record SoraRelayTaskData(string? Output);

/// <summary>
/// The query body of GET /v2/videos/generations/{task_id}, which is also what notify_hook receives. Times are Unix
/// seconds, 0 while unknown (as new-api's task DTO writes them).
/// </summary>
internal sealed class SoraRelayTask
{
    public required string TaskId { get; init; }
    public required string Status { get; init; }
    public required string Progress { get; init; }
    public required string FailReason { get; init; }
    public required SoraRelayTaskData Data { get; init; }
    public long SubmitTime { get; init; }
    public long StartTime { get; init; }
    public long FinishTime { get; init; }
}

internal sealed record SoraRelayErrorBody(string Message, string Type, string? Param, string Code);

/// <summary>A top-level <c>message</c> (what relay clients read first) and an OpenAI-style <c>error</c> object.</summary>
internal sealed record SoraRelayErrorEnvelope(string Message, SoraRelayErrorBody Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SoraRelaySubmitResponse))]
[JsonSerializable(typeof(SoraRelayTask))]
[JsonSerializable(typeof(SoraRelayErrorEnvelope))]
internal sealed partial class SoraRelayJsonContext : JsonSerializerContext;
