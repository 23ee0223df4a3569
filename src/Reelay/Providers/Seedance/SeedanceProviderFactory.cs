using Reelay.Jobs;

namespace Reelay.Providers.Seedance;

/// <summary>Creates Seedance instances (Type "seedance": BytePlus ModelArk or Volcengine Ark, by base URL).</summary>
public sealed class SeedanceProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "seedance";

    /// <summary>The BytePlus (international) ids; on Volcengine Ark (CN) set the route's Model to the doubao- id.</summary>
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => publicModel switch
    {
        "seedance-2-0" => "dreamina-seedance-2-0-260128",
        "seedance-2-0-fast" => "dreamina-seedance-2-0-fast-260128",
        "seedance-1-5-pro" => "seedance-1-5-pro-251215",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new SeedanceProvider(name, options, services);
}
