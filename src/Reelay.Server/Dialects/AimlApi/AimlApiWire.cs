using System.Text.Json.Serialization;

namespace Reelay.Server.Dialects.AimlApi;

/// <summary>The one shape both POST and GET /v2/video/generations answer with.</summary>
internal sealed class AimlApiGeneration
{
    public required string Id { get; init; }
    public required string Status { get; init; }
    public AimlApiVideo? Video { get; init; }
    public AimlApiError? Error { get; init; }
    public AimlApiMeta? Meta { get; init; }

    /// <summary>Reelay's extension (as in the OpenAI dialect): how the job is rendered, e.g. by the sandbox standing in.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }
}

internal sealed record AimlApiVideo(string Url);

internal sealed record AimlApiError(string Name, string Message);

internal sealed record AimlApiUsage(double CreditsUsed);

internal sealed record AimlApiMeta(AimlApiUsage? Usage);

/// <summary>AI/ML API's error body. statusCode is sent as a number; the documents' one example quotes it.</summary>
internal sealed record AimlApiErrorBody(string Message, string Path, string RequestId, int StatusCode, string Timestamp);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AimlApiGeneration))]
internal sealed partial class AimlApiJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AimlApiErrorBody))]
internal sealed partial class AimlApiErrorJsonContext : JsonSerializerContext;
