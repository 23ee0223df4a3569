using Reelay.Jobs;

namespace Reelay.Providers.AimlApi;

/// <summary>Creates AI/ML API instances (Type "aimlapi").</summary>
public sealed class AimlApiProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "aimlapi";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => (publicModel, mode) switch
    {
        ("sora-2", VideoMode.TextToVideo) => "openai/sora-2-t2v",
        ("sora-2", VideoMode.ImageToVideo) => "openai/sora-2-i2v",
        ("sora-2-pro", VideoMode.TextToVideo) => "openai/sora-2-pro-t2v",
        ("sora-2-pro", VideoMode.ImageToVideo) => "openai/sora-2-pro-i2v",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new AimlApiProvider(name, options, services);
}
