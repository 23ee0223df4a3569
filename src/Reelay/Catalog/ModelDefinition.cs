using System.Text.Json.Serialization;

namespace Reelay.Catalog;

/// <summary>One public model in the catalog, as data.</summary>
public sealed class ModelDefinition
{
    /// <summary>Public name (the catalog key).</summary>
    [JsonIgnore]
    public string Name { get; set; } = "";

    /// <summary>One line for people.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// What the model makes video from (<see cref="Jobs.VideoModes.All"/>): "t2v", "i2v", "first_last" (a first and a last
    /// frame) and "reference" (reference images, at most <see cref="MaxReferenceImages"/>).
    /// </summary>
    public List<string> Modes { get; set; } = [];

    /// <summary>With the "reference" mode: the most reference images one request may give.</summary>
    public int MaxReferenceImages { get; set; }

    /// <summary>With the "reference" mode: whether reference images may come with a first frame (most upstreams refuse both).</summary>
    public bool ReferenceWithFirstFrame { get; set; }

    /// <summary>With the "reference" mode: the durations a request with reference images may ask for (Veo 3.1: 8 s); null: any.</summary>
    public DurationRule? ReferenceDurations { get; set; }

    /// <summary>
    /// What the model offers besides making a video from a prompt: any of generate, remix, edit, extend, characters
    /// (<see cref="Jobs.JobOperations.All"/>). Unset: generate only.
    /// </summary>
    public List<string>? Operations { get; set; }

    /// <summary>Whether the model offers <paramref name="operation"/> (a name of <see cref="Jobs.JobOperations.All"/>).</summary>
    public bool Offers(string operation) => (Operations ?? (IReadOnlyList<string>)Jobs.JobOperations.GenerateOnly).Contains(operation);

    /// <summary>Allowed durations.</summary>
    public DurationRule Durations { get; set; } = new();

    /// <summary>Duration when the request names none.</summary>
    public int DefaultDuration { get; set; }

    /// <summary>Exact allowed sizes "WxH" (empty: see <see cref="AnySize"/> or <see cref="Tiers"/>).</summary>
    public List<string> Sizes { get; set; } = [];

    /// <summary>For models that render any size within bounds.</summary>
    public AnySizeRule? AnySize { get; set; }

    /// <summary>Size when the request names none.</summary>
    public string? DefaultSize { get; set; }

    /// <summary>Resolution tier → aspect ratio → exact size, for models with fixed sizes per tier.</summary>
    public Dictionary<string, Dictionary<string, string>> Resolutions { get; set; } = [];

    /// <summary>
    /// Resolution tier → the durations that tier allows, for models whose tiers offer fewer lengths than
    /// <see cref="Durations"/> (sora-2-pro renders 25 s at 720p only). A tier not listed allows every duration.
    /// </summary>
    public Dictionary<string, DurationRule> ResolutionDurations { get; set; } = [];

    /// <summary>Resolution tier → short side in pixels, for models whose shape follows the image or aspect ratio.</summary>
    public Dictionary<string, int> Tiers { get; set; } = [];

    /// <summary>Tier when the request names none (tier-based models).</summary>
    public string? DefaultResolution { get; set; }

    /// <summary>Aspect ratios a request may name.</summary>
    public List<string> AspectRatios { get; set; } = [];

    /// <summary>Aspect ratio for text-to-video when the request names none.</summary>
    public string? DefaultAspectRatio { get; set; }

    /// <summary>Whether a first frame must have exactly the output size upstream (Sora); Reelay fits it.</summary>
    public bool FirstFrameMatchesSize { get; set; }

    /// <summary>Whether the model takes a seed.</summary>
    public bool Seed { get; set; }

    /// <summary>Longest prompt in characters.</summary>
    public int MaxPromptLength { get; set; } = 5000;

    /// <summary>Model options by name.</summary>
    public Dictionary<string, OptionDefinition> Options { get; set; } = [];

    /// <summary>
    /// USD per second of video by resolution tier ("720p"), or "*" for every size; operators override entries with
    /// Reelay:Pricing:&lt;model&gt;:&lt;tier&gt;. Used to hold money at submit and settle it from what was produced.
    /// </summary>
    public Dictionary<string, decimal> Pricing { get; set; } = [];

    /// <summary>
    /// Provider type → the upstream model ids that serve this model there by default, per mode (a deployment's own
    /// Model/ImageModel settings win). The ids' facts are in the catalog's <c>upstreams</c> section.
    /// </summary>
    public Dictionary<string, UpstreamModelIds> UpstreamModels { get; set; } = [];

    /// <summary>Where the facts and prices come from and what the references do not say, for people.</summary>
    public string? Notes { get; set; }

    /// <summary>Operators set this to remove a shipped model.</summary>
    public bool Disabled { get; set; }
}

/// <summary>Allowed durations: a list of values, or a range.</summary>
public sealed class DurationRule
{
    /// <summary>Exact allowed values.</summary>
    public List<int>? Values { get; set; }

    /// <summary>Range minimum (inclusive).</summary>
    public int? Min { get; set; }

    /// <summary>Range maximum (inclusive).</summary>
    public int? Max { get; set; }

    /// <summary>Whether <paramref name="seconds"/> is allowed.</summary>
    public bool Allows(int seconds) => Values is { Count: > 0 } ? Values.Contains(seconds) : seconds >= (Min ?? 1) && seconds <= (Max ?? int.MaxValue);

    /// <summary>"4, 8 or 12" or "1 to 20".</summary>
    public string Describe() => Values is { Count: > 0 } ? JoinOr(Values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) : $"{Min ?? 1} to {Max}";

    internal static string JoinOr(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}

/// <summary>Any size within bounds.</summary>
public sealed class AnySizeRule
{
    /// <summary>Smallest side.</summary>
    public int MinSide { get; set; } = 64;

    /// <summary>Largest width.</summary>
    public int MaxWidth { get; set; } = 1920;

    /// <summary>Largest height.</summary>
    public int MaxHeight { get; set; } = 1920;

    /// <summary>Both sides must be even (H.264 with yuv420p needs it).</summary>
    public bool Even { get; set; } = true;
}

/// <summary>A model option.</summary>
public sealed class OptionDefinition
{
    /// <summary>enum, bool, int or string.</summary>
    public string Type { get; set; } = "string";

    /// <summary>Allowed values for enum.</summary>
    public List<string> Values { get; set; } = [];

    /// <summary>Inclusive minimum for int.</summary>
    public long? Min { get; set; }

    /// <summary>Inclusive maximum for int.</summary>
    public long? Max { get; set; }

    /// <summary>Default, as a string; null: no default (absent unless given).</summary>
    public string? Default { get; set; }
}
