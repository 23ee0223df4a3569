using System.Collections.Concurrent;
using System.Text.Json;
using Reelay.Jobs;
using Reelay.Server.Content;
using Reelay.Server.Hosting;
using Reelay.Webhooks;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>
/// notify_hook bodies: a relay job's webhook receives the task's query body (what GET /v2/videos/generations/{task_id}
/// returns), with the relay's own headers besides the Standard Webhooks ones. Delivered by the durable outbox.
/// </summary>
internal sealed class SoraRelayWebhookRenderer(ContentUrlSigner signer, PublicUrls urls) : IWebhookPayloadRenderer
{
    /// <summary>Sent as User-Agent with every notify_hook delivery.</summary>
    public const string UserAgent = "Reelay/1.0 (notify_hook)";

    private readonly ConcurrentDictionary<string, string> _baseUrls = new(StringComparer.Ordinal);

    /// <summary>The scheme, host and path base the job's client used, so callback links match the ones its queries get.</summary>
    public void RememberBaseUrl(string jobId, string baseUrl) => _baseUrls[jobId] = baseUrl;

    public WebhookPayload? Render(Job job, string eventType, DateTimeOffset timestamp)
    {
        if (job.Dialect != SoraRelayRequestReader.Dialect)
        {
            return null;
        }

        var status = SoraRelayRenderer.Status(job.Status);
        var body = JsonSerializer.SerializeToUtf8Bytes(SoraRelayRenderer.Render(job, BaseUrl(job.Id), signer), SoraRelayJsonContext.Default.SoraRelayTask);
        if (job.Status.IsTerminal())
        {
            _baseUrls.TryRemove(job.Id, out _);
        }

        return new WebhookPayload(body, new Dictionary<string, string>
        {
            ["User-Agent"] = UserAgent,
            ["X-Reelay-Task-Id"] = job.Id,
            ["X-Reelay-Status"] = status,
            ["X-Reelay-Delivery-Id"] = $"{job.Id}:{status}",
        });
    }

    /// <summary>
    /// Reelay:PublicBaseUrl when set (also after a restart); otherwise the client's base URL from its submit, or after a
    /// restart the address this server listens on.
    /// </summary>
    private string BaseUrl(string jobId) =>
        !urls.IsConfigured && _baseUrls.TryGetValue(jobId, out var known) ? known : urls.BaseUrl(null);
}
