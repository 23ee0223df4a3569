using Reelay.Jobs;

namespace Reelay.Providers.Vidu;

/// <summary>Creates Vidu instances (Type "vidu"); BaseUrl is the host, e.g. https://api.vidu.com or https://api.vidu.cn.</summary>
public sealed class ViduProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "vidu";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => (publicModel, mode) switch
    {
        ("viduq2-pro", VideoMode.ImageToVideo) => "viduq2-pro",
        ("viduq2-turbo", VideoMode.ImageToVideo) => "viduq2-turbo",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new ViduProvider(name, options, services);
}
