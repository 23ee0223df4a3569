using Microsoft.Extensions.DependencyInjection;

namespace Reelay.Server.Auth;

/// <summary>Registers API-key authentication: the bootstrap admin key (Reelay:AdminKey, REELAY_ADMIN_KEY, or generated) and the authenticator.</summary>
public static class AuthHosting
{
    /// <summary>Adds <see cref="AdminKey"/> and <see cref="ApiKeyAuthenticator"/> (after AddReelay and AddReelayServerOptions).</summary>
    public static IServiceCollection AddReelayAuth(this IServiceCollection services)
    {
        services.AddSingleton(sp => AdminKey.Resolve(sp.GetRequiredService<ReelayServerOptions>().AdminKey, sp.GetRequiredService<ReelayOptions>().DataPath));
        services.AddSingleton<ApiKeyAuthenticator>();
        return services;
    }
}
