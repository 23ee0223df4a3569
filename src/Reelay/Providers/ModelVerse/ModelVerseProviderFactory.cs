namespace Reelay.Providers.ModelVerse;

/// <summary>Creates ModelVerse instances (Type "modelverse").</summary>
public sealed class ModelVerseProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => TypeName;

    /// <summary>The type name, as the catalog's upstreams section names it.</summary>
    internal const string TypeName = "modelverse";

    /// <inheritdoc />
    public bool UpstreamModelsFromCatalog => true;

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new ModelVerseProvider(name, options, services);
}
