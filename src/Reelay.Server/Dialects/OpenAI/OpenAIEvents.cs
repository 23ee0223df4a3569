using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Events;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>
/// GET /v1/videos/{id}/events: the video's live progress as Server-Sent Events. Event names: video.queued,
/// video.in_progress, video.completed, video.failed when the OpenAI status changes (and for the first event, which is the
/// current state), video.progress when only progress changed, video.deleted when the video is deleted. Each event's data
/// is the video object and its id is the job's version; the stream ends after a terminal event.
/// </summary>
internal static class OpenAIEvents
{
    public static async Task<IResult> Stream(string id, HttpContext context, JobEngine engine, JobEventHub hub, ILogger<JobEventHub> logger)
    {
        var lastEventId = LastEventId(context.Request);
        var subscription = hub.TrySubscribe(id);
        if (subscription is null)
        {
            EventsLog.Refused(logger, id, hub.MaxOpenSubscriptions);
            throw new ReelayException(
                new JobError(ErrorCodes.RateLimited, $"Too many event streams are open on this gateway (at most {hub.MaxOpenSubscriptions}, Reelay:Events:MaxOpenStreams); try again later, or poll GET /v1/videos/{{id}}."),
                TimeSpan.FromSeconds(5));
        }

        try
        {
            // Subscribed first, then read: a change stored in between is in the channel, and the version dedupes it.
            var job = await engine.GetAsync(id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
            return new JobEventStreamResult(subscription, job, lastEventId, new Format(engine));
        }
        catch
        {
            subscription.Dispose();
            throw;
        }
    }

    private static long? LastEventId(HttpRequest request)
    {
        var value = request.Headers["Last-Event-ID"].ToString();
        if (value.Length == 0)
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw ReelayException.Invalid("Last-Event-ID", $"Last-Event-ID '{(value.Length > 40 ? value[..40] + "…" : value)}' is not an event id of this stream; send back the id: of the last event received (a whole number), or nothing.");
    }

    internal static string? EventName(Job? previous, Job current)
    {
        if (current.DeletedAt is not null)
        {
            return "video.deleted";
        }

        var status = OpenAIRenderer.Status(current.Status);
        if (previous is null || OpenAIRenderer.Status(previous.Status) != status)
        {
            return "video." + status;
        }

        return previous.Progress != current.Progress ? "video.progress" : null;
    }

    private sealed class Format(JobEngine engine) : IJobEventFormat
    {
        public string? EventName(Job? previous, Job current) => OpenAIEvents.EventName(previous, current);

        public byte[] Render(Job job) => job.DeletedAt is not null
            ? JsonSerializer.SerializeToUtf8Bytes(new OpenAIDeleted(job.Id, true), OpenAIJsonContext.Default.OpenAIDeleted)
            : JsonSerializer.SerializeToUtf8Bytes(OpenAIRenderer.Video(job, engine.QueuePosition(job)), OpenAIJsonContext.Default.OpenAIVideo);
    }
}
