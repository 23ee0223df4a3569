using Reelay.Jobs;

namespace Reelay.Providers.Veo;

/// <summary>Creates Veo instances (Type "veo": Google's Gemini API).</summary>
public sealed class VeoProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "veo";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => publicModel switch
    {
        "veo-3.1" => "veo-3.1-generate-preview",
        "veo-3.1-fast" => "veo-3.1-fast-generate-preview",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new VeoProvider(name, options, services);
}
