using Reelay.Jobs;

namespace Reelay.Server.Dialects.ModelVerse;

/// <summary>ModelVerse's model names and what they mean in Reelay's catalog.</summary>
internal static class ModelVerseModels
{
    /// <summary>A ModelVerse model: the catalog model, the mode it fixes (null: from the input), and whether it is a Vidu model (needs vidu_type).</summary>
    public sealed record Entry(string CatalogModel, VideoMode? Mode, bool Vidu);

    private static readonly Dictionary<string, Entry> Names = new(StringComparer.Ordinal)
    {
        ["openai/sora-2/text-to-video"] = new("sora-2", VideoMode.TextToVideo, false),
        ["openai/sora-2/image-to-video"] = new("sora-2", VideoMode.ImageToVideo, false),
        ["openai/sora-2/text-to-video-pro"] = new("sora-2-pro", VideoMode.TextToVideo, false),
        ["openai/sora-2/image-to-video-pro"] = new("sora-2-pro", VideoMode.ImageToVideo, false),
        ["viduq2-pro"] = new("viduq2-pro", VideoMode.ImageToVideo, true),
        ["viduq2-turbo"] = new("viduq2-turbo", VideoMode.ImageToVideo, true),
        ["sandbox"] = new("sandbox", null, false),
    };

    public static IEnumerable<string> All => Names.Keys;

    public static Entry? Find(string name) => Names.GetValueOrDefault(name);

    /// <summary>Whether a catalog model is one of the Sora models (ModelVerse reports their usage.duration as run time).</summary>
    public static bool IsSora(string catalogModel) => catalogModel.StartsWith("sora-", StringComparison.Ordinal);
}
