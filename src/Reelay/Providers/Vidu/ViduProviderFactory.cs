namespace Reelay.Providers.Vidu;

/// <summary>Creates Vidu instances (Type "vidu"); BaseUrl is the host, e.g. https://api.vidu.com or https://api.vidu.cn.</summary>
public sealed class ViduProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "vidu";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new ViduProvider(name, options, services);
}
