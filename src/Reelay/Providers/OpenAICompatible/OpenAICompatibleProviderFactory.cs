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
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new OpenAICompatibleProvider(name, options, services);
}
