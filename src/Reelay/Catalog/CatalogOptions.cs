namespace Reelay.Catalog;

/// <summary>Catalog options.</summary>
public sealed class CatalogOptions
{
    /// <summary>A JSON file in the shipped catalog's format whose models add to, replace or disable ("disabled": true) shipped ones.</summary>
    public string? Path { get; set; }
}
