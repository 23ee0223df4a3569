using Reelay.Jobs;

namespace Reelay.Providers.Kling;

/// <summary>Creates Kling instances (Type "kling"; ApiKey is "&lt;access key&gt;:&lt;secret key&gt;").</summary>
public sealed class KlingProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "kling";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => publicModel switch
    {
        "kling-v2-5-turbo" => "kling-v2-5-turbo",
        "kling-v2-6" => "kling-v2-6",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new KlingProvider(name, options, services);
}
