using Reelay.Jobs;

namespace Reelay.Providers.OpenAICompatible;

/// <summary>
/// Creates OpenAI-compatible instances (Type "openai"): any server of OpenAI's /v1/videos shape, another Reelay included.
/// Its BaseUrl is the API root including the version, e.g. https://api.openai.com/v1.
/// </summary>
public sealed class OpenAICompatibleProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "openai";

    /// <inheritdoc />
    public string? DefaultUpstreamModel(string publicModel, VideoMode mode) => publicModel switch
    {
        // One model id serves both modes: image-to-video is the same call with an input_reference.
        "sora-2" => "sora-2",
        "sora-2-pro" => "sora-2-pro",
        "sandbox" => "sandbox", // so a deployment can name another Reelay's sandbox with Model=sandbox
        _ => null,
    };

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new OpenAICompatibleProvider(name, options, services);
}
