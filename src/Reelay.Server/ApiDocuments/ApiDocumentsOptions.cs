namespace Reelay.Server.ApiDocuments;

/// <summary>The OpenAPI documents and the /docs UI.</summary>
public sealed class ApiDocumentsOptions
{
    /// <summary>Whether /openapi/{name}.json and /docs are served (public, no key needed: they describe the API, not its data).</summary>
    public bool Enabled { get; set; } = true;
}
