namespace Reelay.Providers.Seedance;

/// <summary>
/// Creates Seedance instances (Type "seedance": BytePlus ModelArk or Volcengine Ark, by base URL). The catalog's default
/// upstream ids are BytePlus's (international); on Volcengine Ark (CN) set the route's Model to the doubao- id.
/// </summary>
public sealed class SeedanceProviderFactory : IProviderFactory
{
    /// <inheritdoc />
    public string Type => "seedance";

    /// <inheritdoc />
    public IVideoProvider Create(string name, ProviderInstanceOptions options, ProviderServices services) => new SeedanceProvider(name, options, services);
}
