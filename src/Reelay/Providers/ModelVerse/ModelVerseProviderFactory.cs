using Reelay.Jobs;

namespace Reelay.Providers.ModelVerse;

/// <summary>Creates ModelVerse instances (Type "modelverse").</summary>
public sealed class ModelVerseProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "modelverse";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => (publicModel, mode) switch
    {
        ("sora-2", VideoMode.TextToVideo) => "openai/sora-2/text-to-video",
        ("sora-2", VideoMode.ImageToVideo) => "openai/sora-2/image-to-video",
        ("sora-2-pro", VideoMode.TextToVideo) => "openai/sora-2/text-to-video-pro",
        ("sora-2-pro", VideoMode.ImageToVideo) => "openai/sora-2/image-to-video-pro",
        ("viduq2-pro", VideoMode.ImageToVideo) => "viduq2-pro",
        ("viduq2-turbo", VideoMode.ImageToVideo) => "viduq2-turbo",
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new ModelVerseProvider(name, options, services);
}
