using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Webhooks;

/// <summary>Webhook events. Only the receiver's host is logged (a URL's path and query may carry a token); never a secret.</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(LogEventIds.Webhooks + 0, LogLevel.Debug, "Webhook {DeliveryId} ({Event} of job {JobId}) delivered to {Host} on attempt {Attempt}")]
    public static partial void Delivered(ILogger logger, string deliveryId, string @event, string jobId, string host, int attempt);

    [LoggerMessage(LogEventIds.Webhooks + 1, LogLevel.Information, "Webhook {DeliveryId} ({Event} of job {JobId}) to {Host} failed on attempt {Attempt} ({Reason}); retrying at {NextAttempt:o}")]
    public static partial void Retrying(ILogger logger, string deliveryId, string @event, string jobId, string host, int attempt, string reason, DateTimeOffset nextAttempt);

    [LoggerMessage(LogEventIds.Webhooks + 2, LogLevel.Warning, "Webhook {DeliveryId} ({Event} of job {JobId}) to {Host} given up after {Attempts} attempts: {Reason}")]
    public static partial void Dead(ILogger logger, string deliveryId, string @event, string jobId, string host, int attempts, string reason);

    [LoggerMessage(LogEventIds.Webhooks + 3, LogLevel.Error, "Webhook outbox error for job {JobId}")]
    public static partial void OutboxError(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(LogEventIds.Webhooks + 4, LogLevel.Error, "Webhook dispatcher error; retrying shortly")]
    public static partial void DispatcherError(ILogger logger, Exception exception);

    [LoggerMessage(LogEventIds.Webhooks + 5, LogLevel.Information, "Webhook outbox repaired after start-up: {Added} missing events enqueued for {Jobs} jobs")]
    public static partial void Reconciled(ILogger logger, int added, int jobs);
}
