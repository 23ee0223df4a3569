using Reelay.Catalog;
using Reelay.Jobs;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>The relay's model names, what its <c>hd</c> flag means, and its status names.</summary>
internal static class SoraRelayModels
{
    /// <summary>The standard tier (<c>hd: false</c>) and the HD tier (<c>hd: true</c>), as catalog resolution names.</summary>
    public const string StandardTier = "720p";

    /// <summary>The tier <c>hd: true</c> asks for: 1792x1024 / 1024x1792 on sora-2-pro.</summary>
    public const string HdTier = "1080p";

    /// <summary>The relay's model names; each is the catalog model of the same name ("sandbox" is Reelay's own).</summary>
    public static IReadOnlyList<string> All { get; } = ["sora-2", "sora-2-pro", "sandbox"];

    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);

    /// <summary>Whether a catalog model offers the HD tier (sora-2-pro does, sora-2 does not).</summary>
    public static bool OffersHd(ModelDefinition model) => model.Resolutions.ContainsKey(HdTier) || model.Tiers.ContainsKey(HdTier);

    /// <summary>The relay models (other than the sandbox) whose catalog definition offers <c>hd</c>, for messages.</summary>
    public static IEnumerable<string> WithHd(ModelCatalog catalog) =>
        All.Where(n => n != "sandbox" && catalog.Find(n) is { } m && OffersHd(m));

    /// <summary>"a, b or c".</summary>
    public static string JoinOr(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}
