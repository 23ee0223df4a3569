namespace Reelay.Providers.AimlApi;

/// <summary>Creates AI/ML API instances (Type "aimlapi").</summary>
public sealed class AimlApiProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => TypeName;

    /// <summary>The type name, as the catalog's upstreams section names it.</summary>
    internal const string TypeName = "aimlapi";

    /// <inheritdoc />
    public bool UpstreamModelsFromCatalog => true;

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new AimlApiProvider(name, options, services);
}
