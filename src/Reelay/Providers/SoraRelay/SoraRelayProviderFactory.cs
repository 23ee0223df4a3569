using Reelay.Jobs;

namespace Reelay.Providers.SoraRelay;

/// <summary>Creates Sora relay instances (Type "sora-relay"): one model id serves text- and image-to-video.</summary>
public sealed class SoraRelayProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "sora-relay";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => publicModel switch
    {
        "sora-2" => "sora-2",
        "sora-2-pro" => "sora-2-pro",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new SoraRelayProvider(name, options, services);
}
