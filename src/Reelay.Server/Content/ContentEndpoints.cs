using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>
/// Serves content through signed URLs (no API key: the signature is the permission), and registers what every content
/// route uses: the URL signer (Reelay:ContentUrlLifetime) and the offload (Reelay:Content).
/// </summary>
public static class ContentEndpoints
{
    /// <summary>Adds <see cref="ContentUrlSigner"/> (its key configured, or kept in the data folder or the shared database) and <see cref="ContentOffload"/>.</summary>
    public static IServiceCollection AddReelayContent(this IServiceCollection services)
    {
        services.AddSingleton(sp => ContentUrlSigner.Create(
            sp.GetRequiredService<ReelayOptions>().DataPath, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ReelayServerOptions>().ContentUrlLifetime,
            sp.GetService<Cluster.ISharedSecrets>(), sp.GetRequiredService<ReelayServerOptions>().ContentUrlKey));
        services.AddSingleton(sp => new ContentOffload(sp.GetRequiredService<ReelayServerOptions>().Content, sp.GetRequiredService<IResultStore>()));
        services.AddSingleton(sp => new SmallFileCache(sp.GetRequiredService<ReelayServerOptions>().Content));
        return services;
    }

    /// <summary>Maps <c>GET</c> and <c>HEAD /content/{id}/{variant}</c>.</summary>
    public static IEndpointRouteBuilder MapSignedContent(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/content/{id}/{variant}", ContentResults.Methods, Serve);
        return app;
    }

    private static async Task<IResult> Serve(string id, string variant, string? expires, string? signature, ContentUrlSigner signer, JobEngine engine, HttpContext context)
    {
        if (ContentUrlSigner.ParseVariant(variant) is not { } which || !signer.Verify(id, variant, expires, signature))
        {
            return Problem(403, "This content link is invalid or has expired; read the task again for a fresh link.");
        }

        try
        {
            var content = await engine.OpenContentAsync(id, Caller.Admin, which, context.RequestAborted).ConfigureAwait(false);
            return ContentResults.Serve(content, id, which);
        }
        catch (ReelayException ex)
        {
            return Problem(ex.HttpStatus, ex.Error.Message);
        }
    }

    private static IResult Problem(int status, string message) =>
        TypedResults.Text($"{{\"error\":{{\"message\":{System.Text.Json.JsonSerializer.Serialize(message, ContentJson.Default.String)}}}}}", "application/json", statusCode: status);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class ContentJson : System.Text.Json.Serialization.JsonSerializerContext;
