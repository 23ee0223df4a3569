using Reelay.Jobs;

namespace Reelay.Providers.Fal;

/// <summary>Creates fal.ai queue instances (Type "fal"): any model id on fal's queue, set per route.</summary>
public sealed class FalProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "fal";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => (publicModel, mode) switch
    {
        ("veo-3.1", VideoMode.TextToVideo) => "fal-ai/veo3.1",
        ("veo-3.1", VideoMode.ImageToVideo) => "fal-ai/veo3.1/image-to-video",
        ("veo-3.1-fast", VideoMode.TextToVideo) => "fal-ai/veo3.1/fast",
        ("veo-3.1-fast", VideoMode.ImageToVideo) => "fal-ai/veo3.1/fast/image-to-video",
        ("seedance-2-0", VideoMode.TextToVideo) => "bytedance/seedance-2.0/text-to-video",
        ("seedance-2-0", VideoMode.ImageToVideo) => "bytedance/seedance-2.0/image-to-video",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new FalProvider(name, options, services);
}
