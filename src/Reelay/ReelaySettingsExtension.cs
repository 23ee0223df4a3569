namespace Reelay;

/// <summary>
/// A settings type a host binds from the <c>Reelay</c> section beside <see cref="ReelayOptions"/> (the server's own
/// settings, for example). Registered as a service, its keys count as known to the unknown-key check of
/// <see cref="ReelayOptionsValidator"/>; the host validates their values itself.
/// </summary>
/// <param name="SettingsType">The options type.</param>
public sealed record ReelaySettingsExtension(Type SettingsType);
