using System.Security.Cryptography;
using System.Text.Json;
using Reelay.Jobs;
using Reelay.Webhooks;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>
/// OpenAI's own webhook events (video.completed, video.failed), which a job submitted through POST /v1/videos asks for in
/// webhook_events: the body is OpenAI's event object, so that the OpenAI SDKs' <c>webhooks.unwrap</c> verifies and types
/// it. Reelay's own event types (job.*) keep Reelay's envelope.
/// </summary>
internal sealed class OpenAIWebhookRenderer : IWebhookPayloadRenderer
{
    public WebhookPayload? Render(Job job, string eventType, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (eventType is not (WebhookEvents.VideoCompleted or WebhookEvents.VideoFailed))
        {
            return null;
        }

        var id = "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new OpenAIWebhookEvent { Id = id, Type = eventType, CreatedAt = timestamp.ToUnixTimeSeconds(), Data = new OpenAIWebhookEventData(job.Id) },
            OpenAIJsonContext.Default.OpenAIWebhookEvent);
        return new WebhookPayload(body, new Dictionary<string, string>());
    }
}
