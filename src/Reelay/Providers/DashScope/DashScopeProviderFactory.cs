using Reelay.Jobs;

namespace Reelay.Providers.DashScope;

/// <summary>Creates Alibaba Model Studio (DashScope) instances (Type "dashscope"; the region is the BaseUrl's host).</summary>
public sealed class DashScopeProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "dashscope";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => (publicModel, mode) switch
    {
        ("wan-2.5", VideoMode.TextToVideo) => "wan2.5-t2v-preview",
        ("wan-2.5", VideoMode.ImageToVideo) => "wan2.5-i2v-preview",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new DashScopeProvider(name, options, services);
}
