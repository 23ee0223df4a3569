namespace Reelay.Providers.Veo;

/// <summary>Creates Veo instances (Type "veo": Google's Gemini API).</summary>
public sealed class VeoProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "veo";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new VeoProvider(name, options, services);
}
