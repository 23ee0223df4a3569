namespace Reelay.Providers.SoraRelay;

/// <summary>Creates Sora relay instances (Type "sora-relay"): one model id serves text- and image-to-video.</summary>
public sealed class SoraRelayProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => TypeName;

    /// <summary>The type name, as the catalog's upstreams section names it.</summary>
    internal const string TypeName = "sora-relay";

    /// <inheritdoc />
    public bool UpstreamModelsFromCatalog => true;

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new SoraRelayProvider(name, options, services);
}
