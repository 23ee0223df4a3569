using System.Text.Json.Serialization;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>OpenAI's video object, plus Reelay's extension fields (omitted when null).</summary>
internal sealed class OpenAIVideo
{
    public required string Id { get; init; }
    public string Object => "video";
    public required string Model { get; init; }
    public required string Status { get; init; }
    public int Progress { get; init; }
    public long CreatedAt { get; init; }
    public long? CompletedAt { get; init; }
    public long? ExpiresAt { get; init; }
    public required string Seconds { get; init; }
    public required string Size { get; init; }
    public string? Prompt { get; init; }
    public string? RemixedFromVideoId { get; init; }
    public OpenAIVideoError? Error { get; init; }

    /// <summary>Reelay extension: remix, edit or extend for a derived video (null for a generated one).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Operation { get; init; }

    /// <summary>Reelay extension: the video an edit or extension was made from.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SourceVideoId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? QueuePosition { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Reelay extension: lower-case hex SHA-256 of the stored MP4 (what variant=video serves), once completed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Sha256 { get; init; }
}

internal sealed record OpenAIVideoError(string Code, string Message);

internal sealed class OpenAIVideoList
{
    public string Object => "list";
    public required IReadOnlyList<OpenAIVideo> Data { get; init; }
    public string? FirstId { get; init; }
    public string? LastId { get; init; }
    public bool HasMore { get; init; }
}

internal sealed record OpenAIDeleted(string Id, bool Deleted)
{
    public string Object => "video.deleted";
}

/// <summary>OpenAI's character object (POST /v1/videos/characters, GET /v1/videos/characters/{id}).</summary>
internal sealed record OpenAICharacter(string Id, long CreatedAt, string Name);

internal sealed record OpenAIErrorBody(string Message, string Type, string? Param, string? Code);

internal sealed record OpenAIErrorEnvelope(OpenAIErrorBody Error);

internal sealed class OpenAIModel
{
    public required string Id { get; init; }
    public string Object => "model";
    public long Created { get; init; }
    public string OwnedBy => "reelay";
    public string? Description { get; init; }
    public required IReadOnlyList<string> Modes { get; init; }
    public required string Durations { get; init; }
    public int DefaultDuration { get; init; }
    public required IReadOnlyList<string> Sizes { get; init; }
    public IReadOnlyList<string>? Resolutions { get; init; }
    public IReadOnlyList<string>? AspectRatios { get; init; }
    public required IReadOnlyList<string> Options { get; init; }
    public bool Seed { get; init; }

    /// <summary>Reelay extension: USD per second of video by resolution tier ("*": any size).</summary>
    public IReadOnlyDictionary<string, decimal>? Pricing { get; init; }
}

internal sealed class OpenAIModelList
{
    public string Object => "list";
    public required IReadOnlyList<OpenAIModel> Data { get; init; }
}

/// <summary>
/// OpenAI's webhook event for videos: <c>{"id":"evt_…","object":"event","type":"video.completed","created_at":…,"data":{"id":"video_…"}}</c>,
/// what the OpenAI SDKs' <c>webhooks.unwrap</c> verifies and types.
/// </summary>
internal sealed class OpenAIWebhookEvent
{
    public required string Id { get; init; }
    public string Object => "event";
    public required string Type { get; init; }
    public long CreatedAt { get; init; }
    public required OpenAIWebhookEventData Data { get; init; }
}

internal sealed record OpenAIWebhookEventData(string Id);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(OpenAIVideo))]
[JsonSerializable(typeof(OpenAIVideoList))]
[JsonSerializable(typeof(OpenAIDeleted))]
[JsonSerializable(typeof(OpenAIErrorEnvelope))]
[JsonSerializable(typeof(OpenAIModelList))]
[JsonSerializable(typeof(OpenAIWebhookEvent))]
[JsonSerializable(typeof(OpenAICharacter))]
internal sealed partial class OpenAIJsonContext : JsonSerializerContext;
