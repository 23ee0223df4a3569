using System.Text.Json;
using Reelay.Jobs;

namespace Reelay.Webhooks;

/// <summary>A webhook body and its extra headers, fixed when the delivery is enqueued.</summary>
/// <param name="Body">The bytes to POST.</param>
/// <param name="Headers">Extra headers (never secrets), e.g. a dialect's own.</param>
public sealed record WebhookPayload(byte[] Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Renders a job's event in the shape its client expects. Renderers are asked in registration order; the first that
/// returns a payload wins, and <see cref="WebhookEnvelopeRenderer"/> answers for every job the others pass on.
/// </summary>
public interface IWebhookPayloadRenderer
{
    /// <summary>The payload for <paramref name="eventType"/> of <paramref name="job"/>, or null to leave the job to the next renderer.</summary>
    WebhookPayload? Render(Job job, string eventType, DateTimeOffset timestamp);
}

/// <summary>The default body: <c>{"type": "job.succeeded", "timestamp": "…", "data": {id, object, status, progress, …}}</c>.</summary>
public sealed class WebhookEnvelopeRenderer : IWebhookPayloadRenderer
{
    /// <inheritdoc />
    public WebhookPayload Render(Job job, string eventType, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(job);
        var data = new WebhookJobData
        {
            Id = job.Id,
            Status = job.Status.ToWire(),
            Progress = job.Status == JobStatus.Succeeded ? 100 : Math.Clamp(job.Progress, 0, 100),
            Model = job.Model,
            Seconds = job.DurationSeconds,
            Size = job.Size,
            CreatedAt = job.CreatedAt.ToUnixTimeSeconds(),
            CompletedAt = job.Status.IsTerminal() ? (job.CompletedAt ?? job.UpdatedAt).ToUnixTimeSeconds() : null,
            Error = job.Error is { } error && job.Status is JobStatus.Failed or JobStatus.Cancelled ? new WebhookJobError(error.Code, error.Message) : null,
            Metadata = job.Metadata.Count > 0 ? job.Metadata : null,
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookEnvelope(eventType, timestamp, data), WebhookJsonContext.Default.WebhookEnvelope);
        return new WebhookPayload(body, new Dictionary<string, string>());
    }

    WebhookPayload? IWebhookPayloadRenderer.Render(Job job, string eventType, DateTimeOffset timestamp) => Render(job, eventType, timestamp);
}
