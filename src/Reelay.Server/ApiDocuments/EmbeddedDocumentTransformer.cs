using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Reelay.Server.Hosting;

namespace Reelay.Server.ApiDocuments;

/// <summary>
/// Fills a generated (empty) document with the embedded description of one API: its info, paths, components and
/// security. The embedded JSON is parsed once, on first use; <see cref="ApiDocumentsHosting"/> keeps the serialized result.
/// </summary>
internal sealed class EmbeddedDocumentTransformer(string name) : IOpenApiDocumentTransformer
{
    private readonly Lazy<OpenApiDocument> _source = new(() => Load(name));

    /// <summary>Parses the embedded document <paramref name="documentName"/>; throws when it does not read cleanly.</summary>
    internal static OpenApiDocument Load(string documentName)
    {
        var resource = $"Reelay.Server.ApiDocuments.Documents.{documentName}.json";
        using var stream = typeof(EmbeddedDocumentTransformer).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The API document '{resource}' is not embedded.");
        using var reader = new StreamReader(stream);
        var settings = new OpenApiReaderSettings();
        var result = OpenApiDocument.Parse(reader.ReadToEnd(), "json", settings);
        if (result.Document is null || result.Diagnostic?.Errors.Count > 0)
        {
            var errors = string.Join("; ", result.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []);
            throw new InvalidOperationException($"The API document '{documentName}' does not read cleanly: {errors}");
        }

        return result.Document;
    }

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(context);
        var source = _source.Value;
        document.Info = source.Info;
        document.Paths = source.Paths;
        document.Components = source.Components;
        document.Security = source.Security;
        document.Tags = source.Tags;
        // No servers entry means "the host that served this document" (OpenAPI 3.1, 4.8.1), which is right behind any proxy;
        // the configured public address is named explicitly.
        var urls = context.ApplicationServices.GetRequiredService<PublicUrls>();
        document.Servers = urls.IsConfigured ? [new OpenApiServer { Url = urls.BaseUrl(null) }] : [];

        return Task.CompletedTask;
    }
}
