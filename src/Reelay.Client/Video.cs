using System.Text.Json.Serialization;
using Reelay.Client.Serialization;

namespace Reelay.Client;

/// <summary>A video generation job, as returned by <c>/v1/videos</c>.</summary>
public sealed class Video
{
    /// <summary>The job id, <c>video_</c> followed by 32 hex digits.</summary>
    public string Id { get; init; } = "";

    /// <summary>Always <c>video</c>.</summary>
    public string Object { get; init; } = "video";

    /// <summary>The public model name.</summary>
    public string? Model { get; init; }

    /// <summary>One of the <see cref="VideoStatus"/> values.</summary>
    public string Status { get; init; } = "";

    /// <summary>Progress from 0 to 100.</summary>
    public int Progress { get; init; }

    /// <summary>When the job was created, in Unix seconds.</summary>
    public long CreatedAt { get; init; }

    /// <summary>When the job reached a terminal state, in Unix seconds, or null.</summary>
    public long? CompletedAt { get; init; }

    /// <summary>When the content will be deleted, in Unix seconds, or null.</summary>
    public long? ExpiresAt { get; init; }

    /// <summary>The duration in seconds, as the server writes it (a string such as <c>"4"</c>).</summary>
    [JsonConverter(typeof(FlexibleStringConverter))]
    public string? Seconds { get; init; }

    /// <summary>The output size as <c>WIDTHxHEIGHT</c>.</summary>
    public string? Size { get; init; }

    /// <summary>The prompt, or null for an image-only job.</summary>
    public string? Prompt { get; init; }

    /// <summary>The video this one was remixed from, or null.</summary>
    public string? RemixedFromVideoId { get; init; }

    /// <summary>Why the job failed, or null.</summary>
    public VideoError? Error { get; init; }

    /// <summary>remix, edit or extend for a video made from another (a Reelay extension); null for a generated one.</summary>
    public string? Operation { get; init; }

    /// <summary>The video an edit or extension was made from (a Reelay extension), or null.</summary>
    public string? SourceVideoId { get; init; }

    /// <summary>The job's place in the queue while it is queued (a Reelay extension), otherwise null.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>A note from the gateway, such as a stand-in renderer's disclosure (a Reelay extension), or null.</summary>
    public string? Note { get; init; }

    /// <summary>Whether <see cref="Status"/> is final (completed, failed or cancelled).</summary>
    [JsonIgnore]
    public bool IsTerminal => VideoStatus.IsTerminal(Status);

    /// <summary><see cref="CreatedAt"/> as a <see cref="DateTimeOffset"/>.</summary>
    [JsonIgnore]
    public DateTimeOffset CreatedAtTime => DateTimeOffset.FromUnixTimeSeconds(CreatedAt);
}

/// <summary>Why a video job failed.</summary>
public sealed class VideoError
{
    /// <summary>A canonical error code such as <c>moderation_blocked</c> or <c>upstream_timeout</c>.</summary>
    public string? Code { get; init; }

    /// <summary>A message for people.</summary>
    public string? Message { get; init; }
}

/// <summary>One page of videos from <c>GET /v1/videos</c>.</summary>
public sealed class VideoList
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object { get; init; } = "list";

    /// <summary>The videos on this page.</summary>
    public IReadOnlyList<Video> Data { get; init; } = [];

    /// <summary>The id of the first video on this page, or null when it is empty.</summary>
    public string? FirstId { get; init; }

    /// <summary>The id of the last video on this page: pass it as <see cref="ListVideosOptions.After"/> for the next page.</summary>
    public string? LastId { get; init; }

    /// <summary>Whether more videos follow this page.</summary>
    public bool HasMore { get; init; }
}

/// <summary>The answer to <c>DELETE /v1/videos/{id}</c>.</summary>
public sealed class VideoDeletion
{
    /// <summary>The deleted video's id.</summary>
    public string Id { get; init; } = "";

    /// <summary>Always <c>video.deleted</c>.</summary>
    public string Object { get; init; } = "video.deleted";

    /// <summary>Whether the video was deleted.</summary>
    public bool Deleted { get; init; }
}

/// <summary>A model the gateway offers, from <c>GET /v1/models</c>.</summary>
public sealed class ModelInfo
{
    /// <summary>The public model name to pass as <see cref="CreateVideoRequest.Model"/>.</summary>
    public string Id { get; init; } = "";

    /// <summary>Always <c>model</c>.</summary>
    public string Object { get; init; } = "model";

    /// <summary>Who owns the model entry.</summary>
    public string? OwnedBy { get; init; }

    /// <summary>One line for people.</summary>
    public string? Description { get; init; }

    /// <summary>The modes the model offers: <c>t2v</c> (text-to-video) and/or <c>i2v</c> (image-to-video).</summary>
    public IReadOnlyList<string> Modes { get; init; } = [];

    /// <summary>The durations it allows, for people (for example <c>1 to 20</c>).</summary>
    [JsonConverter(typeof(FlexibleStringConverter))]
    public string? Durations { get; init; }

    /// <summary>The sizes it allows, for people.</summary>
    [JsonConverter(typeof(FlexibleStringConverter))]
    public string? Sizes { get; init; }
}
