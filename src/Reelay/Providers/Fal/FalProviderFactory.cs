namespace Reelay.Providers.Fal;

/// <summary>Creates fal.ai queue instances (Type "fal"): any model id on fal's queue, set per route.</summary>
public sealed class FalProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "fal";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new FalProvider(name, options, services);
}
