namespace Reelay.Client;

/// <summary>One event of a video's live stream (<c>GET /v1/videos/{id}/events</c>).</summary>
public sealed class VideoEvent
{
    /// <summary>The first event of a stream and every status change: <c>video.queued</c>, <c>video.in_progress</c>, <c>video.completed</c>, <c>video.failed</c>.</summary>
    public const string Queued = "video.queued";

    /// <summary>The job is being generated.</summary>
    public const string InProgress = "video.in_progress";

    /// <summary>Only the progress changed.</summary>
    public const string Progress = "video.progress";

    /// <summary>Finished; the content can be downloaded. The last event.</summary>
    public const string Completed = "video.completed";

    /// <summary>Finished without a video (cancelled jobs too, with error code <c>cancelled</c>). The last event.</summary>
    public const string Failed = "video.failed";

    /// <summary>The video was deleted. The last event; <see cref="Video"/> then carries only its id.</summary>
    public const string Deleted = "video.deleted";

    /// <summary>Creates an event.</summary>
    /// <param name="type">The event name, one of the constants of this class (or a newer one).</param>
    /// <param name="eventId">The server's event id: the job's version, increasing.</param>
    /// <param name="video">The video as of this event.</param>
    public VideoEvent(string type, string? eventId, Video video)
    {
        Type = type;
        EventId = eventId;
        Video = video;
    }

    /// <summary>The event name, e.g. <see cref="Progress"/>.</summary>
    public string Type { get; }

    /// <summary>The server's event id (the job's version), sent back as <c>Last-Event-ID</c> on a reconnect.</summary>
    public string? EventId { get; }

    /// <summary>The video object as of this event.</summary>
    public Video Video { get; }

    /// <summary>Whether this is the stream's last event: the video reached a terminal status or was deleted.</summary>
    public bool IsTerminal => Video.IsTerminal || Type == Deleted;
}
