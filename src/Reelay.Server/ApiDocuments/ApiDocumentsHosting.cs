using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Reelay.Server.ApiDocuments;

/// <summary>
/// The OpenAPI documents (one per dialect and one for the admin API) at <c>/openapi/{name}.json</c>, and Scalar's
/// browsable UI at <c>/docs</c>. Public (they describe the API, never its data); Reelay:ApiDocuments:Enabled = false
/// turns both off.
/// </summary>
/// <remarks>
/// The dialects read their bodies by hand (strict readers that reject what the upstream APIs would), so nothing can be
/// inferred from the handlers: each document is written out in <c>Documents/{name}.json</c> (embedded) and loaded, once,
/// into Microsoft.AspNetCore.OpenApi's pipeline by <see cref="EmbeddedDocumentTransformer"/>. Tests keep them honest:
/// every mapped route is in a document, live responses validate against them, and the OpenAI document agrees with
/// OpenAI's published one.
/// </remarks>
public static class ApiDocumentsHosting
{
    /// <summary>The documents, by name, with the title the UI shows.</summary>
    public static readonly IReadOnlyList<(string Name, string Title)> Documents =
    [
        ("openai", "OpenAI /v1/videos"),
        ("modelverse", "ModelVerse /v1/tasks"),
        ("aimlapi", "AI/ML API /v2/video/generations"),
        ("sorarelay", "Sora relay /v2/videos/generations"),
        ("admin", "Admin API"),
    ];

    /// <summary>Where the documents are served.</summary>
    public const string RoutePattern = "/openapi/{documentName}.json";

    /// <summary>Where the UI is served.</summary>
    public const string UiPath = "/docs";

    /// <summary>Registers the documents.</summary>
    public static IServiceCollection AddReelayApiDocuments(this IServiceCollection services)
    {
        foreach (var (name, _) in Documents)
        {
            services.AddOpenApi(name, options =>
            {
                options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;

                // Nothing is inferred from the endpoints: the embedded document describes every operation.
                options.ShouldInclude = _ => false;
                options.AddDocumentTransformer(new EmbeddedDocumentTransformer(name));
            });
        }

        return services;
    }

    /// <summary>Maps /openapi/{name}.json and /docs, unless Reelay:ApiDocuments:Enabled is false.</summary>
    public static IEndpointRouteBuilder MapReelayApiDocuments(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Read from configuration, not the validated options: validation belongs to the start (Preflight), not to Build.
        if (!(app.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool?>("Reelay:ApiDocuments:Enabled") ?? true))
        {
            return app;
        }

        app.MapOpenApi(RoutePattern);
        app.MapScalarApiReference(UiPath, options =>
        {
            options.WithTitle("Reelay API");
            options.OpenApiRoutePattern = RoutePattern;

            // No telemetry calls from an operator's browser to a third party; the UI script itself is served by Reelay.
            options.Telemetry = false;
            foreach (var (name, title) in Documents)
            {
                options.AddDocument(name, title, RoutePattern.Replace("{documentName}", name, StringComparison.Ordinal), isDefault: name == "openai");
            }
        });
        return app;
    }
}
