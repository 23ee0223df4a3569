using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Dialects;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Webhooks;

namespace Reelay.Server.Webhooks;

/// <summary>
/// The caller's webhook signing secret (GET /v1/webhooks/secret, POST /v1/webhooks/secret/rotate) and a job's delivery
/// log (GET /v1/videos/{id}/webhooks), with OpenAI's error envelope. A job of another key is 404, as for GET /v1/videos/{id}.
/// </summary>
public static class WebhookEndpoints
{
    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapReelayWebhooks(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.AddEndpointFilter(new DialectFilter("Webhooks", WriteError, "Incorrect or missing API key. Send 'Authorization: Bearer <key>'.", "Bearer"));
        v1.MapGet("/webhooks/secret", GetSecret);
        v1.MapPost("/webhooks/secret/rotate", Rotate);
        v1.MapGet("/videos/{id}/webhooks", Deliveries);
        return app;
    }

    private static async Task<IResult> GetSecret(HttpContext context, IWebhookStore store, TimeProvider time)
    {
        var secrets = await store.GetOrCreateSecretsAsync(DialectFilter.CallerOf(context).KeyId, time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        return Secret(context, secrets, time.GetUtcNow());
    }

    private static async Task<IResult> Rotate(HttpContext context, IWebhookStore store, TimeProvider time, ReelayOptions options)
    {
        var now = time.GetUtcNow();
        var secrets = await store.RotateSecretAsync(DialectFilter.CallerOf(context).KeyId, now, now + options.Webhooks.SecretGracePeriod, context.RequestAborted).ConfigureAwait(false);
        return Secret(context, secrets, now);
    }

    private static IResult Secret(HttpContext context, WebhookSecrets secrets, DateTimeOffset now)
    {
        // The secret is the answer: never cached, by a browser or a proxy.
        context.Response.Headers.CacheControl = "no-store";
        var previousUntil = secrets.Previous is not null && secrets.PreviousExpiresAt > now ? secrets.PreviousExpiresAt : null;
        return TypedResults.Json(
            new WebhookSecretResponse(secrets.Current, secrets.CreatedAt.ToUnixTimeSeconds(), previousUntil?.ToUnixTimeSeconds()),
            WebhookApiJsonContext.Default.WebhookSecretResponse);
    }

    private static async Task<IResult> Deliveries(string id, HttpContext context, JobEngine engine, IWebhookStore store)
    {
        var job = await engine.GetAsync(id, DialectFilter.CallerOf(context), context.RequestAborted).ConfigureAwait(false);
        var log = await store.ListForJobAsync(job.Id, context.RequestAborted).ConfigureAwait(false);
        var data = log.Select(entry => Render(entry)).ToList();
        return TypedResults.Json(new WebhookDeliveryList(data), WebhookApiJsonContext.Default.WebhookDeliveryList);
    }

    private static WebhookDeliveryView Render(WebhookDeliveryLog entry)
    {
        var d = entry.Delivery;
        return new WebhookDeliveryView
        {
            Id = d.Id,
            Event = d.EventType,
            Url = ShownUrl(d.Url),
            Status = d.State switch { WebhookDeliveryState.Delivered => "delivered", WebhookDeliveryState.Dead => "dead", _ => "pending" },
            Attempts = d.Attempts,
            CreatedAt = d.CreatedAt.ToUnixTimeSeconds(),
            NextAttemptAt = d.State == WebhookDeliveryState.Pending ? d.NextAttemptAt.ToUnixTimeSeconds() : null,
            LastAttemptAt = d.LastAttemptAt?.ToUnixTimeSeconds(),
            LastStatusCode = d.LastStatusCode,
            LastError = d.LastError,
            FinishedAt = d.FinishedAt?.ToUnixTimeSeconds(),
            AttemptLog = [.. entry.Attempts.Select(a => new WebhookAttemptView(a.Attempt, a.At.ToUnixTimeSeconds(), (long)a.Duration.TotalMilliseconds, a.StatusCode, a.Error))],
        };
    }

    /// <summary>The receiver without its query (which may hold a token): scheme, host, port and path.</summary>
    private static string ShownUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : "";

    private static IResult WriteError(HttpContext context, JobError error, int status) =>
        TypedResults.Json(OpenAIRenderer.Error(error), OpenAIJsonContext.Default.OpenAIErrorEnvelope, statusCode: status);
}

internal sealed record WebhookSecretResponse(
    [property: JsonPropertyName("secret")] string Secret,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("previous_secret_expires_at")] long? PreviousSecretExpiresAt)
{
    [JsonPropertyName("object")] public string Object => "webhook.secret";
}

internal sealed record WebhookDeliveryList([property: JsonPropertyName("data")] IReadOnlyList<WebhookDeliveryView> Data)
{
    [JsonPropertyName("object")] public string Object => "list";
}

internal sealed record WebhookDeliveryView
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("object")] public string Object => "webhook.delivery";
    [JsonPropertyName("event")] public required string Event { get; init; }
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("attempts")] public int Attempts { get; init; }
    [JsonPropertyName("created_at")] public long CreatedAt { get; init; }
    [JsonPropertyName("next_attempt_at")] public long? NextAttemptAt { get; init; }
    [JsonPropertyName("last_attempt_at")] public long? LastAttemptAt { get; init; }
    [JsonPropertyName("last_status_code")] public int? LastStatusCode { get; init; }
    [JsonPropertyName("last_error")] public string? LastError { get; init; }
    [JsonPropertyName("finished_at")] public long? FinishedAt { get; init; }
    [JsonPropertyName("attempt_log")] public required IReadOnlyList<WebhookAttemptView> AttemptLog { get; init; }
}

internal sealed record WebhookAttemptView(
    [property: JsonPropertyName("attempt")] int Attempt,
    [property: JsonPropertyName("at")] long At,
    [property: JsonPropertyName("duration_ms")] long DurationMs,
    [property: JsonPropertyName("status_code")] int? StatusCode,
    [property: JsonPropertyName("error")] string? Error);

[JsonSerializable(typeof(WebhookSecretResponse))]
[JsonSerializable(typeof(WebhookDeliveryList))]
internal sealed partial class WebhookApiJsonContext : JsonSerializerContext;
