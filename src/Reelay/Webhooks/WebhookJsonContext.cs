using System.Text.Json.Serialization;

namespace Reelay.Webhooks;

/// <summary>The JSON shape of a webhook event for every dialect except the Sora relay: <c>{type, timestamp, data}</c>.</summary>
/// <param name="Type">The event type, e.g. job.succeeded.</param>
/// <param name="Timestamp">When the event happened (ISO 8601, UTC).</param>
/// <param name="Data">The job as of the event.</param>
public sealed record WebhookEnvelope(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("data")] WebhookJobData Data);

/// <summary>The job in a webhook event.</summary>
public sealed record WebhookJobData
{
    /// <summary>The job id.</summary>
    [JsonPropertyName("id")] public required string Id { get; init; }

    /// <summary>Always "video".</summary>
    [JsonPropertyName("object")] public string Object { get; init; } = "video";

    /// <summary>queued, submitting, running, succeeded, failed or cancelled.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }

    /// <summary>0-100.</summary>
    [JsonPropertyName("progress")] public int Progress { get; init; }

    /// <summary>The public model name.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>Length in seconds.</summary>
    [JsonPropertyName("seconds")] public int Seconds { get; init; }

    /// <summary>WxH.</summary>
    [JsonPropertyName("size")] public required string Size { get; init; }

    /// <summary>Unix seconds.</summary>
    [JsonPropertyName("created_at")] public long CreatedAt { get; init; }

    /// <summary>Unix seconds, once finished.</summary>
    [JsonPropertyName("completed_at")] public long? CompletedAt { get; init; }

    /// <summary>Why it failed or was cancelled.</summary>
    [JsonPropertyName("error")] public WebhookJobError? Error { get; init; }

    /// <summary>The client's metadata.</summary>
    [JsonPropertyName("metadata")] public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>A failed job's error.</summary>
/// <param name="Code">The canonical error code.</param>
/// <param name="Message">What happened.</param>
public sealed record WebhookJobError([property: JsonPropertyName("code")] string Code, [property: JsonPropertyName("message")] string Message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookEnvelope))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
