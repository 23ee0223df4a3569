namespace Reelay.Client;

/// <summary>The status values of a <see cref="Video"/>, as the server writes them.</summary>
public static class VideoStatus
{
    /// <summary>Accepted and waiting for a provider slot.</summary>
    public const string Queued = "queued";

    /// <summary>Being generated.</summary>
    public const string InProgress = "in_progress";

    /// <summary>Finished; the content can be downloaded.</summary>
    public const string Completed = "completed";

    /// <summary>Finished without a video; see <see cref="Video.Error"/>.</summary>
    public const string Failed = "failed";

    /// <summary>Cancelled before it finished.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Whether <paramref name="status"/> is final: completed, failed or cancelled.</summary>
    /// <param name="status">A status value; null and unknown values are not terminal.</param>
    /// <returns>True for a terminal status.</returns>
    public static bool IsTerminal(string? status) => status is Completed or Failed or Cancelled;
}
