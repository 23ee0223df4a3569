namespace Reelay.Providers.Kling;

/// <summary>Creates Kling instances (Type "kling"; ApiKey is "&lt;access key&gt;:&lt;secret key&gt;").</summary>
public sealed class KlingProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "kling";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new KlingProvider(name, options, services);
}
