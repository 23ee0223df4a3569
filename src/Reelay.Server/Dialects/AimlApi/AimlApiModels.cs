using Reelay.Catalog;
using Reelay.Jobs;

namespace Reelay.Server.Dialects.AimlApi;

/// <summary>AI/ML API's model ids, the schema each one documents, and what they mean in Reelay's catalog.</summary>
internal static class AimlApiModels
{
    /// <summary>AI/ML API's documented aspect_ratio enum (the same for every Sora model); the default is the first.</summary>
    public static readonly string[] AspectRatios = ["16:9", "9:16"];

    /// <summary>AI/ML API's documented duration enum (the same for every Sora model); the default is 4.</summary>
    public static readonly int[] Durations = [4, 8, 12];

    /// <summary>The default duration of AI/ML API's Sora models, in seconds.</summary>
    public const int DefaultDuration = 4;

    /// <summary>
    /// An AI/ML API model: the catalog model, the mode it fixes (null: from whether image_url is given) and AI/ML's own
    /// schema for it (null for Reelay's catalog names, which the catalog alone validates).
    /// </summary>
    public sealed record Entry(string CatalogModel, VideoMode? Mode, Schema? Schema);

    /// <summary>The resolution enum AI/ML API documents for a model and its default.</summary>
    public sealed record Schema(string[] Resolutions, string DefaultResolution);

    private static readonly Schema Sora2 = new(["720p"], "720p");
    private static readonly Schema Sora2Pro = new(["720p", "1080p"], "1080p");

    private static readonly Dictionary<string, Entry> Names = new(StringComparer.Ordinal)
    {
        ["openai/sora-2-t2v"] = new("sora-2", VideoMode.TextToVideo, Sora2),
        ["openai/sora-2-i2v"] = new("sora-2", VideoMode.ImageToVideo, Sora2),
        ["openai/sora-2-pro-t2v"] = new("sora-2-pro", VideoMode.TextToVideo, Sora2Pro),
        ["openai/sora-2-pro-i2v"] = new("sora-2-pro", VideoMode.ImageToVideo, Sora2Pro),
    };

    /// <summary>AI/ML API's model ids, in the documents' order.</summary>
    public static IEnumerable<string> AimlNames => Names.Keys;

    /// <summary>The model: one of AI/ML API's ids, or a Reelay catalog name taken as it is; null when neither.</summary>
    public static Entry? Find(string name, ModelCatalog catalog) =>
        Names.GetValueOrDefault(name) ?? (catalog.Find(name) is not null ? new Entry(name, null, null) : null);
}
