using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Reelay.Callbacks;
using Reelay.Engine;
using Reelay.Providers;

namespace Reelay.Server.Callbacks;

/// <summary>
/// <c>POST /callbacks/{instance}/{token}</c>: an upstream's callback for one job (the URL <see cref="CallbackUrls"/> put in
/// its submit). It is a hint and nothing more: a valid one makes the engine poll that job at once, and the poll's answer
/// is the truth; the body is never read as the job's state. An unknown instance or a token that does not check out
/// answers 404 (nothing learned); a fal callback whose ED25519 signature does not verify, or a Veo webhook whose RS256 JWT
/// (aud = the callback URL) does not verify, answers 401 and polls nothing; a body over
/// <see cref="MaxBodyBytes"/> answers 413. The answer is immediate: the poll runs off the request.
/// </summary>
public static partial class CallbackEndpoints
{
    /// <summary>The largest callback body read (fal sends the whole result payload).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Registers the fal signature verifier.</summary>
    public static IServiceCollection AddReelayCallbacks(this IServiceCollection services)
    {
        services.AddSingleton<FalWebhookVerifier>();
        services.AddSingleton<VeoWebhookVerifier>();
        services.Replace(ServiceDescriptor.Singleton(sp => new CallbackUrls(
            sp.GetRequiredService<ReelayOptions>(), sp.GetRequiredService<ReelayServerOptions>().PublicBaseUrl,
            sp.GetService<Cluster.ISharedSecrets>(), sp.GetRequiredService<ReelayServerOptions>().CallbackKey)));
        return services;
    }

    /// <summary>Maps the callback route (no API key: the token is the credential).</summary>
    public static IEndpointRouteBuilder MapReelayCallbacks(this IEndpointRouteBuilder app)
    {
        app.MapPost(CallbackUrls.PathPrefix + "/{instance}/{token}", ReceiveAsync).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ReceiveAsync(string instance, string token, HttpContext context, ProviderRegistry registry, CallbackUrls urls, ReelayOptions options, JobScheduler scheduler, FalWebhookVerifier fal, VeoWebhookVerifier veo, ILoggerFactory loggers)
    {
        var log = loggers.CreateLogger("Reelay.Server.Callbacks");
        var configured = options.Providers.GetValueOrDefault(instance);
        var jobId = registry.Providers.Any(p => p.Name == instance) && configured is not null ? urls.Open(instance, token) : null;
        if (jobId is null)
        {
            Rejected(log, instance, 404);
            return Error(404, "not_found", "No such callback.");
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            Rejected(log, instance, 413);
            return Error(413, "request_too_large", $"A callback body may be at most {MaxBodyBytes} bytes.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        byte[] body;
        try
        {
            body = await ReadBoundedAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            Rejected(log, instance, 413);
            return Error(413, "request_too_large", $"A callback body may be at most {MaxBodyBytes} bytes.");
        }
        catch (BadHttpRequestException)
        {
            Rejected(log, instance, 413);
            return Error(413, "request_too_large", $"A callback body may be at most {MaxBodyBytes} bytes.");
        }

        if (string.Equals(configured!.Type, "fal", StringComparison.OrdinalIgnoreCase))
        {
            var jwks = configured.Callbacks?.JwksUrl ?? FalWebhookVerifier.DefaultJwksUrl;
            if (!await fal.VerifyAsync(new Uri(jwks), context.Request.Headers, body, context.RequestAborted).ConfigureAwait(false))
            {
                Rejected(log, instance, 401);
                return Error(401, "invalid_signature", "The X-Fal-Webhook-* signature does not verify.");
            }
        }

        if (string.Equals(configured.Type, "veo", StringComparison.OrdinalIgnoreCase))
        {
            // The JWT's aud must be the URL Reelay gave Google for this job (the one in webhookConfig.uris).
            var jwks = configured.Callbacks?.JwksUrl ?? VeoWebhookVerifier.DefaultJwksUrl;
            var audience = urls.UrlFor(instance, jobId)?.AbsoluteUri;
            if (audience is null || !await veo.VerifyAsync(new Uri(jwks), context.Request.Headers[VeoWebhookVerifier.SignatureHeader].ToString(), audience, context.RequestAborted).ConfigureAwait(false))
            {
                Rejected(log, instance, 401);
                return Error(401, "invalid_signature", "The Webhook-Signature JWT does not verify.");
            }
        }

        var hinted = scheduler.PollNow(jobId);
        Received(log, instance, jobId, hinted);
        return TypedResults.Json(new CallbackAnswer(true), CallbackJsonContext.Default.CallbackAnswer);
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new InvalidDataException("too large");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IResult Error(int status, string code, string message) =>
        TypedResults.Json(new CallbackError(new CallbackErrorBody(code, message)), CallbackJsonContext.Default.CallbackError, statusCode: status);

    [LoggerMessage(Diagnostics.LogEventIds.Callbacks + 1, LogLevel.Debug, "Callback from provider {Provider} for job {JobId}; polled at once: {Hinted}")]
    private static partial void Received(ILogger logger, string provider, string jobId, bool hinted);

    [LoggerMessage(Diagnostics.LogEventIds.Callbacks + 2, LogLevel.Information, "A callback to provider instance path {Provider} was refused with {Status}")]
    private static partial void Rejected(ILogger logger, string provider, int status);
}

internal sealed record CallbackAnswer(bool Received);

internal sealed record CallbackError(CallbackErrorBody Error);

internal sealed record CallbackErrorBody(string Code, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CallbackAnswer))]
[System.Text.Json.Serialization.JsonSerializable(typeof(CallbackError))]
internal sealed partial class CallbackJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
