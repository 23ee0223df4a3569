using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Reelay;

/// <summary>Start-up validation of <see cref="ReelayOptions"/>: values in range, and no unknown keys (a typo must not silently fall back to a default).</summary>
/// <param name="configuration">The configuration whose <c>Reelay</c> section is checked for unknown keys.</param>
/// <param name="extensions">Settings a host binds from the same section (the server's own); their keys are known too.</param>
public sealed class ReelayOptionsValidator(IConfiguration configuration, IEnumerable<ReelaySettingsExtension>? extensions = null) : IValidateOptions<ReelayOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ReelayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        UnknownKeys(configuration.GetSection(ReelayOptions.Section), [typeof(ReelayOptions), .. (extensions ?? []).Select(e => e.SettingsType)], ReelayOptions.Section, errors);
        foreach (var extension in extensions ?? [])
        {
            errors.AddRange(extension.Validate?.Invoke(configuration.GetSection(ReelayOptions.Section)) ?? []);
        }

        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(!string.IsNullOrWhiteSpace(options.DataDirectory), "Reelay:DataDirectory must not be empty.");
        Check(options.JobDeadline > TimeSpan.Zero, $"Reelay:JobDeadline must be positive (got {options.JobDeadline}).");
        errors.AddRange(options.Store.Validate());
        errors.AddRange(options.Sandbox.Validate());
        Check(options.Limits.MaxRequestBodyBytes >= 1024, "Reelay:Limits:MaxRequestBodyBytes must be at least 1024.");
        Check(options.Limits.MaxImageBytes is > 0 and <= 50L * 1024 * 1024, "Reelay:Limits:MaxImageBytes must be 1 to 52428800 (50 MB, the upstream limit).");
        Check(options.Limits.ImageFetchTimeout > TimeSpan.Zero, "Reelay:Limits:ImageFetchTimeout must be positive.");
        foreach (var network in options.Limits.AllowPrivateNetworks)
        {
            Check(System.Net.IPNetwork.TryParse(network, out _) || System.Net.IPAddress.TryParse(network, out _), $"Reelay:Limits:AllowPrivateNetworks entry '{network}' is not an IP address or CIDR range.");
        }

        Check(options.Engine.MaxConcurrentPollsPerProvider is >= 1 and <= 4096, "Reelay:Engine:MaxConcurrentPollsPerProvider must be 1 to 4096.");
        Check(options.Engine.MaxConcurrentSubmitsPerProvider is >= 1 and <= 4096, "Reelay:Engine:MaxConcurrentSubmitsPerProvider must be 1 to 4096.");
        Check(options.Engine.UpstreamCallTimeout > TimeSpan.Zero, "Reelay:Engine:UpstreamCallTimeout must be positive.");
        Check(options.Engine.MaxSubmitAttempts is >= 1 and <= 100, "Reelay:Engine:MaxSubmitAttempts must be 1 to 100.");
        Check(options.Engine.SubmitRetryDelay > TimeSpan.Zero, "Reelay:Engine:SubmitRetryDelay must be positive.");
        Check(options.Engine.MaxConcurrentFinalizations is >= 1 and <= 256, "Reelay:Engine:MaxConcurrentFinalizations must be 1 to 256.");
        Check(options.Engine.FinalizeGrace >= TimeSpan.Zero && options.Engine.FinalizeGrace <= TimeSpan.FromDays(7), "Reelay:Engine:FinalizeGrace must be 0 to 7 days.");
        Check(!string.IsNullOrWhiteSpace(options.Engine.NodeId) && options.Engine.NodeId.Length <= 200, "Reelay:Engine:NodeId must be set (at most 200 characters).");
        Check(options.Engine.ClaimLease >= TimeSpan.FromSeconds(3), "Reelay:Engine:ClaimLease must be at least 3 seconds.");
        errors.AddRange(options.Accounts.Validate());
        foreach (var (model, tiers) in options.Pricing)
        {
            foreach (var (tier, price) in tiers)
            {
                Check(price >= 0 && Accounts.Money.IsWholeMicros(price), $"Reelay:Pricing:{model}:{tier} must be a non-negative USD amount with at most six decimal places (got {price}).");
            }
        }

        errors.AddRange(options.Storage.Validate());
        errors.AddRange(options.Media.Validate());
        errors.AddRange(options.Webhooks.Validate());
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void UnknownKeys(IConfigurationSection section, Type type, string path, List<string> errors) => UnknownKeys(section, [type], path, errors);

    private static void UnknownKeys(IConfigurationSection section, IReadOnlyList<Type> types, string path, List<string> errors)
    {
        var properties = types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Where(p => p.CanWrite || IsComplex(p.PropertyType))
            .DistinctBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                var known = string.Join(", ", properties.Keys.Order(StringComparer.Ordinal));
                errors.Add($"{path}:{child.Key} is not a known setting. Known settings under {path}: {known}.");
                continue;
            }

            if (IsComplex(property.PropertyType))
            {
                UnknownKeys(child, property.PropertyType, $"{path}:{property.Name}", errors);
            }
            else if (ItemType(property.PropertyType) is { } item)
            {
                // A dictionary or list of settings objects: check every entry against the item type.
                foreach (var entry in child.GetChildren())
                {
                    if (IsComplex(item))
                    {
                        UnknownKeys(entry, item, $"{path}:{property.Name}:{entry.Key}", errors);
                    }
                    else if (ItemType(item) is { } inner && IsComplex(inner))
                    {
                        foreach (var element in entry.GetChildren())
                        {
                            UnknownKeys(element, inner, $"{path}:{property.Name}:{entry.Key}:{element.Key}", errors);
                        }
                    }
                }
            }
        }
    }

    private static Type? ItemType(Type type)
    {
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        return definition == typeof(Dictionary<,>) ? arguments[1] : definition == typeof(List<>) ? arguments[0] : null;
    }

    private static bool IsComplex(Type type) => type.IsClass && type != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(type);
}
