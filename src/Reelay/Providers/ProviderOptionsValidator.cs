using Microsoft.Extensions.Options;
using Reelay.Catalog;

namespace Reelay.Providers;

/// <summary>
/// Start-up validation of Reelay:Providers and Reelay:Routes, reported together with the other option errors so an
/// operator sees every problem at once. The catalog is loaded here on its own (a broken catalog is reported by name).
/// </summary>
public sealed class ProviderOptionsValidator(IEnumerable<IProviderFactory> factories) : IValidateOptions<ReelayOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ReelayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Providers.Count == 0 && options.Routes.Count == 0 && options.Pricing.Count == 0)
        {
            return ValidateOptionsResult.Skip;
        }

        ModelCatalog catalog;
        try
        {
            catalog = ModelCatalog.Load(options.Catalog.Path);
        }
        catch (InvalidOperationException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }

        var errors = ProviderRegistry.Check(options, factories.ToDictionary(f => f.Type, StringComparer.OrdinalIgnoreCase), catalog);
        foreach (var model in options.Pricing.Keys.Where(m => catalog.Find(m) is null))
        {
            errors.Add($"Reelay:Pricing:{model} names a model the catalog does not have; known: {string.Join(", ", catalog.Models.Select(m => m.Name).Order(StringComparer.Ordinal))}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
