using Reelay.Jobs;

namespace Reelay.Webhooks;

/// <summary>The webhook event types, and which job change raises which.</summary>
public static class WebhookEvents
{
    /// <summary>The job was accepted and waits for a provider.</summary>
    public const string Queued = "job.queued";

    /// <summary>An upstream (or the sandbox) accepted the job and is rendering it.</summary>
    public const string Running = "job.running";

    /// <summary>The job's progress moved (at most one per job every Reelay:Webhooks:ProgressInterval).</summary>
    public const string Progress = "job.progress";

    /// <summary>The video is ready.</summary>
    public const string Succeeded = "job.succeeded";

    /// <summary>The job failed.</summary>
    public const string Failed = "job.failed";

    /// <summary>The job was cancelled.</summary>
    public const string Cancelled = "job.cancelled";

    /// <summary>OpenAI's own event type for a finished video (raised with <see cref="Succeeded"/>), for OpenAI-dialect clients.</summary>
    public const string VideoCompleted = "video.completed";

    /// <summary>OpenAI's own event type for a video that failed or was cancelled (raised with <see cref="Failed"/> and <see cref="Cancelled"/>).</summary>
    public const string VideoFailed = "video.failed";

    /// <summary>Every event type, in lifecycle order.</summary>
    public static IReadOnlyList<string> All { get; } = [Queued, Running, Progress, Succeeded, Failed, Cancelled];

    /// <summary>OpenAI's event types, which a job submitted through the OpenAI dialect may ask for besides <see cref="All"/>.</summary>
    public static IReadOnlyList<string> OpenAI { get; } = [VideoCompleted, VideoFailed];

    /// <summary>Whether <paramref name="name"/> is one of Reelay's own event types.</summary>
    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);

    /// <summary>
    /// The event types a raised event is delivered as, for this job's filter: Reelay's own type when the job wants it, and
    /// OpenAI's alias of a terminal event (<see cref="VideoCompleted"/>, <see cref="VideoFailed"/>) when the job asked for it.
    /// A job without a filter gets Reelay's own types only.
    /// </summary>
    public static IEnumerable<string> Deliveries(Job job, string raised)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (Wanted(job, raised))
        {
            yield return raised;
        }

        var alias = raised switch
        {
            Succeeded => VideoCompleted,
            Failed or Cancelled => VideoFailed,
            _ => null,
        };
        if (alias is not null && job.WebhookEvents is not null && job.WebhookEvents.Contains(alias, StringComparer.Ordinal))
        {
            yield return alias;
        }
    }

    /// <summary>The event's place in a job's life: a delivery is never enqueued after one of a later rank (progress ranks by its value).</summary>
    public static int Rank(string eventType) => eventType switch
    {
        Queued => 0,
        Running => 1,
        Progress => 2,
        VideoCompleted or VideoFailed => 4,
        _ => 3,
    };

    /// <summary>The terminal event of a finished job, or null.</summary>
    public static string? Terminal(JobStatus status) => status switch
    {
        JobStatus.Succeeded => Succeeded,
        JobStatus.Failed => Failed,
        JobStatus.Cancelled => Cancelled,
        _ => null,
    };

    /// <summary>Whether the job's owner asked for <paramref name="eventType"/> (no filter: every event).</summary>
    public static bool Wanted(Job job, string eventType)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.WebhookEvents is null || job.WebhookEvents.Contains(eventType, StringComparer.Ordinal);
    }

    /// <summary>
    /// The events a stored change raises, in order, ignoring the job's filter: a new job is queued; the first running
    /// state is running; a progress rise while running is progress; reaching a terminal state is its event.
    /// </summary>
    public static IReadOnlyList<string> Raised(Job? previous, Job current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var raised = new List<string>(2);
        if (previous is null)
        {
            raised.Add(Queued);
        }

        if (current.Status == JobStatus.Running && previous?.Status != JobStatus.Running)
        {
            raised.Add(Running);
        }
        else if (current.Status == JobStatus.Running && previous is not null && current.Progress > previous.Progress)
        {
            raised.Add(Progress);
        }

        if (Terminal(current.Status) is { } terminal && (previous is null || !previous.Status.IsTerminal()))
        {
            raised.Add(terminal);
        }

        return raised;
    }

    /// <summary>Every non-progress event a job in its current state must have raised so far (used to repair the outbox after a crash).</summary>
    public static IReadOnlyList<string> Implied(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var implied = new List<string>(3) { Queued };
        if (job.Status == JobStatus.Running || job.StartedAt is not null)
        {
            implied.Add(Running);
        }

        if (Terminal(job.Status) is { } terminal)
        {
            implied.Add(terminal);
        }

        return implied;
    }
}
