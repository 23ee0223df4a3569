namespace Reelay.Providers.DashScope;

/// <summary>Creates Alibaba Model Studio (DashScope) instances (Type "dashscope"; the region is the BaseUrl's host).</summary>
public sealed class DashScopeProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "dashscope";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new DashScopeProvider(name, options, services);
}
