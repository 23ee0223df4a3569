using Microsoft.Extensions.Configuration;

namespace Reelay;

/// <summary>
/// A settings type a host binds from the <c>Reelay</c> section beside <see cref="ReelayOptions"/> (the server's own
/// settings, for example). Registered as a service, its keys count as known to the unknown-key check of
/// <see cref="ReelayOptionsValidator"/>, and the problems <paramref name="Validate"/> finds in the section are reported
/// with the library's own, so that a start lists every problem at once.
/// </summary>
/// <param name="SettingsType">The options type.</param>
/// <param name="Validate">Every problem with the host's values in the Reelay section, each naming its key.</param>
public sealed record ReelaySettingsExtension(Type SettingsType, Func<IConfigurationSection, IEnumerable<string>>? Validate = null);
