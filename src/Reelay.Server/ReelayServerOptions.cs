using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Server.Events;

namespace Reelay.Server;

/// <summary>
/// Settings only the HTTP server reads. They are bound from the same <c>Reelay</c> section as the library's
/// <see cref="ReelayOptions"/>, so the keys users write are unchanged (see docs/configuration.md); the library's
/// unknown-key check knows them through <see cref="ReelaySettingsExtension"/>.
/// </summary>
public sealed class ReelayServerOptions
{
    /// <summary>The bootstrap admin API key. Also read from the REELAY_ADMIN_KEY environment variable. When unset, serve generates one.</summary>
    public string? AdminKey { get; set; }

    /// <summary>How long a signed content URL (handed out by dialects whose clients download without a key) stays valid.</summary>
    public TimeSpan ContentUrlLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The OpenAI-compatible dialect.</summary>
    public OpenAIDialectOptions OpenAI { get; set; } = new();

    /// <summary>Live job event streams (GET /v1/videos/{id}/events).</summary>
    public EventsOptions Events { get; set; } = new();

    /// <summary>The longest a submit with <c>Prefer: wait=N</c> is held for its job to finish (0 turns synchronous waits off).</summary>
    public TimeSpan MaxPreferWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (AdminKey is not null && AdminKey.Length < 16)
        {
            yield return "Reelay:AdminKey (or REELAY_ADMIN_KEY) must be at least 16 characters.";
        }

        if (ContentUrlLifetime < TimeSpan.FromMinutes(1) || ContentUrlLifetime > TimeSpan.FromDays(30))
        {
            yield return $"Reelay:ContentUrlLifetime must be 1 minute to 30 days (got {ContentUrlLifetime}).";
        }

        if (MaxPreferWait < TimeSpan.Zero || MaxPreferWait > TimeSpan.FromMinutes(10))
        {
            yield return $"Reelay:MaxPreferWait must be 0 to 10 minutes (got {MaxPreferWait}).";
        }

        foreach (var error in Events.Validate())
        {
            yield return error;
        }
    }
}

/// <summary>
/// Registers <see cref="ReelayServerOptions"/>: bound from the Reelay section; its keys known to the library's check, and
/// its values checked with the library's (one list of every problem at start).
/// </summary>
public static class ReelayServerOptionsExtensions
{
    /// <summary>Adds the server's settings (after AddReelay).</summary>
    public static IServiceCollection AddReelayServerOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReelayServerOptions>().Bind(configuration.GetSection(ReelayOptions.Section));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReelayServerOptions>>().Value);
        services.AddSingleton(new ReelaySettingsExtension(typeof(ReelayServerOptions), section => (section.Get<ReelayServerOptions>() ?? new ReelayServerOptions()).Validate()));
        return services;
    }
}
