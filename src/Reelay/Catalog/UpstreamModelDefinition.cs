using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Reelay.Jobs;

namespace Reelay.Catalog;

/// <summary>
/// What one upstream model of one provider type takes, as data (the catalog's <c>upstreams.&lt;type&gt;.&lt;id&gt;</c>):
/// its modes, durations, sizes or resolution tiers, aspect ratios, seed and options, and, for adapters that build their
/// request from the catalog, the request <see cref="Body"/>. Routing skips a deployment whose upstream model cannot
/// serve a job exactly (<see cref="Check"/>), so adding a model an upstream offers is a catalog entry, not code.
/// </summary>
public sealed class UpstreamModelDefinition
{
    /// <summary>The provider type (the catalog key one level up).</summary>
    [JsonIgnore]
    public string Type { get; set; } = "";

    /// <summary>The upstream's model id (the catalog key).</summary>
    [JsonIgnore]
    public string Id { get; set; } = "";

    /// <summary>Where the facts come from and what the references do not say, for people.</summary>
    public string? Notes { get; set; }

    /// <summary>The modes this upstream model serves: "t2v", "i2v", "first_last", "reference" (<see cref="VideoModes.All"/>).</summary>
    public List<string> Modes { get; set; } = [];

    /// <summary>With the "reference" mode: the most reference images it takes in one request.</summary>
    public int MaxReferenceImages { get; set; }

    /// <summary>
    /// For adapters whose upstream names inputs per model (fal): input → the upstream's field name, for
    /// <c>last_frame</c> (e.g. <c>end_image_url</c>) and <c>reference_images</c> (e.g. <c>reference_image_urls</c>).
    /// </summary>
    public Dictionary<string, string> Inputs { get; set; } = [];

    /// <summary>Durations it takes; null: any the public model allows.</summary>
    public DurationRule? Durations { get; set; }

    /// <summary>Exact sizes "WxH" it renders; empty: no size rule.</summary>
    public List<string> Sizes { get; set; } = [];

    /// <summary>Resolution tiers ("720p") it takes; empty: no tier rule.</summary>
    public List<string> Resolutions { get; set; } = [];

    /// <summary>Resolution tier → the durations that tier allows, where a tier offers fewer lengths than <see cref="Durations"/>.</summary>
    public Dictionary<string, DurationRule> ResolutionDurations { get; set; } = [];

    /// <summary>Exact size → the durations that size allows (a relay's "hd" sizes have no 25 s).</summary>
    public Dictionary<string, DurationRule> SizeDurations { get; set; } = [];

    /// <summary>
    /// Exact size → why it is refused, where the upstream's own words say it better than "not offered" (a relay's
    /// "needs hd, which only sora-2-pro offers"); used when the size is missing from <see cref="Sizes"/> or its
    /// <see cref="SizeDurations"/> rule fails.
    /// </summary>
    public Dictionary<string, string> SizeNotes { get; set; } = [];

    /// <summary>Aspect ratios it takes; empty: no aspect rule.</summary>
    public List<string> AspectRatios { get; set; } = [];

    /// <summary>Whether it takes a seed.</summary>
    public bool Seed { get; set; }

    /// <summary>
    /// The public model options it carries; any other option must be left off (false, empty or auto). "NAME=VALUE" carries
    /// the option only at that value (an upstream that always treats the image as the first frame takes image_role=first_frame).
    /// </summary>
    public List<string> Options { get; set; } = [];

    /// <summary>Whether the first frame must be fitted to the job's exact size before it is sent.</summary>
    public bool FitFirstFrame { get; set; }

    /// <summary>
    /// Per placeholder, canonical value → the upstream's spelling (e.g. <c>"resolution": {"768p": "768P"}</c>), for
    /// upstreams that name the same thing differently.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> Values { get; set; } = [];

    /// <summary>
    /// The JSON request body, for adapters that build it from the catalog. A string value that is exactly a placeholder is
    /// replaced by the job's value, typed: <c>{model}</c>, <c>{prompt}</c>, <c>{duration}</c> (a number),
    /// <c>{duration:string}</c>, <c>{size}</c>, <c>{width}</c>, <c>{height}</c>, <c>{resolution}</c>, <c>{aspect_ratio}</c>,
    /// <c>{seed}</c>, <c>{image}</c> (a data URI), <c>{image:base64}</c> (raw Base64), <c>{image:mime}</c> and
    /// <c>{option:NAME}</c> (a bool option as a JSON boolean, an int as a number), the last frame as <c>{last_frame}</c> (a
    /// data URI), <c>{last_frame:base64}</c> and <c>{last_frame:mime}</c>, the reference images as
    /// <c>{reference_images}</c> (an array of data URIs), and <c>{reference_image}</c>: an array item that holds it is
    /// repeated once per reference image (none: the item is left out). A placeholder without a value removes
    /// its property, an object or array all of whose placeholders are empty is removed too, and a required placeholder
    /// (<c>{image!}</c>) without a value removes the objects that hold it up to the nearest array item. Null: the
    /// adapter's own code builds the body.
    /// </summary>
    public JsonObject? Body { get; set; }

    /// <summary>Placeholders a body may use (besides <c>{option:NAME}</c>).</summary>
    public static IReadOnlyList<string> Placeholders { get; } =
        ["model", "prompt", "duration", "duration:string", "size", "width", "height", "resolution", "aspect_ratio", "seed", "image", "image:base64", "image:mime",
         "last_frame", "last_frame:base64", "last_frame:mime", "reference_images", "reference_image"];

    /// <summary>
    /// Null when this upstream model can serve <paramref name="job"/> exactly; otherwise why not, in words.
    /// <paramref name="tier"/> and <paramref name="aspect"/> are the job's resolution tier and aspect ratio (see
    /// <see cref="ModelCatalog.TierOf"/> and <see cref="ModelCatalog.AspectOf"/>).
    /// </summary>
    public string? Check(Job job, string? tier, string? aspect)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (CheckInputs(job) is { } inputs)
        {
            return inputs;
        }

        var mode = job.Mode.ToWire();
        if (!Modes.Contains(mode) && !(job.Mode == VideoMode.TextToVideo && job.ReferenceImageKeys.Count > 0))
        {
            return Modes.Count == 1
                ? $"{Id} is {(Modes[0] == "i2v" ? "image" : "text")}-to-video only"
                : $"{Id} does not serve {(job.Mode == VideoMode.ImageToVideo ? "image" : "text")}-to-video";
        }

        if (Durations is { } durations && !durations.Allows(job.DurationSeconds))
        {
            return $"duration {job.DurationSeconds} s is not offered ({durations.Describe()})";
        }

        if (Sizes.Count > 0 && !Sizes.Contains(job.Size))
        {
            return SizeNotes.TryGetValue(job.Size, out var why) ? $"size {job.Size} {why}" : $"size {job.Size} is not offered ({string.Join(", ", Sizes)})";
        }

        if (Resolutions.Count > 0 && (tier is null || !Resolutions.Contains(tier)))
        {
            return $"resolution {tier ?? job.Size} is not offered ({string.Join(", ", Resolutions)})";
        }

        if (tier is not null && ResolutionDurations.TryGetValue(tier, out var byTier) && !byTier.Allows(job.DurationSeconds))
        {
            return $"duration {job.DurationSeconds} s is not offered at {tier} ({byTier.Describe()})";
        }

        if (SizeDurations.TryGetValue(job.Size, out var bySize) && !bySize.Allows(job.DurationSeconds))
        {
            return SizeNotes.TryGetValue(job.Size, out var why)
                ? $"size {job.Size} {why}"
                : $"duration {job.DurationSeconds} s is not offered at {job.Size} ({bySize.Describe()})";
        }

        if (AspectRatios.Count > 0 && aspect is not null && !AspectRatios.Contains(aspect))
        {
            return $"aspect ratio {aspect} is not offered ({string.Join(", ", AspectRatios)})";
        }

        if (job.Seed is not null && !Seed)
        {
            return $"a seed is not offered by {Id}";
        }

        foreach (var (key, value) in job.ModelOptions())
        {
            if (!Options.Contains(key) && !Options.Contains(key + "=" + value) && value is not ("false" or "" or "auto"))
            {
                return $"option {key}={value} is not offered";
            }
        }

        return null;
    }

    /// <summary>
    /// Null when this upstream model takes the job's last frame and reference images (its modes first_last and reference,
    /// and <see cref="MaxReferenceImages"/>); otherwise why not. A job without either always passes.
    /// </summary>
    public string? CheckInputs(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        foreach (var mode in VideoModes.Required(job))
        {
            if (mode is VideoModes.FirstLast or VideoModes.Reference && !Modes.Contains(mode))
            {
                return $"{Id} does not take {VideoModes.Describe(mode)}";
            }
        }

        var references = job.ReferenceImageKeys.Count;
        if (references > MaxReferenceImages && Modes.Contains(VideoModes.Reference))
        {
            return $"{Id} takes at most {MaxReferenceImages} reference images (got {references})";
        }

        return null;
    }

    /// <summary>Renders <see cref="Body"/> for a job.</summary>
    public JsonObject RenderBody(UpstreamRequestValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Body is null)
        {
            throw new InvalidOperationException($"Upstream model '{Id}' ({Type}) has no body template in the catalog.");
        }

        var rendered = Render(Body, values, out _, out _);
        return rendered as JsonObject ?? new JsonObject();
    }

    /// <summary>The problems of this entry, each naming its field (empty when it is valid).</summary>
    internal IEnumerable<string> Problems(IReadOnlyCollection<string> optionNames)
    {
        if (Modes.Count == 0 || Modes.Any(m => !VideoModes.All.Contains(m)))
        {
            yield return $"modes must be a non-empty list of {string.Join(", ", VideoModes.All)}";
        }

        if (Modes.Contains(VideoModes.Reference) != MaxReferenceImages > 0)
        {
            yield return "maxReferenceImages must be set (1 or more) exactly when modes include reference";
        }

        foreach (var size in Sizes.Concat(SizeDurations.Keys).Concat(SizeNotes.Keys).Where(s => ModelCatalog.TryParseSize(s) is null))
        {
            yield return $"sizes: '{size}' is not a WxH size";
        }

        foreach (var tier in ResolutionDurations.Keys.Where(t => Resolutions.Count > 0 && !Resolutions.Contains(t)))
        {
            yield return $"resolutionDurations names '{tier}', which is not one of its resolutions";
        }

        foreach (var option in Options.Select(o => o.Split('=')[0]).Where(o => optionNames.Count > 0 && !optionNames.Contains(o)))
        {
            yield return $"options names '{option}', which no public model that routes here takes";
        }

        if (Body is not null)
        {
            // A body that does not say where a last frame or reference images go would drop them silently.
            var used = PlaceholdersIn(Body).Select(p => p.TrimEnd('!')).ToHashSet(StringComparer.Ordinal);
            if (Modes.Contains(VideoModes.FirstLast) && !used.Any(p => p.StartsWith("last_frame", StringComparison.Ordinal)))
            {
                yield return "modes include first_last, but the body has no {last_frame} placeholder";
            }

            if (Modes.Contains(VideoModes.Reference) && !used.Contains("reference_images") && !used.Contains("reference_image"))
            {
                yield return "modes include reference, but the body has no {reference_images} or {reference_image} placeholder";
            }

            foreach (var placeholder in PlaceholdersIn(Body))
            {
                if (!Placeholders.Contains(placeholder.TrimEnd('!')) && !placeholder.StartsWith("option:", StringComparison.Ordinal))
                {
                    yield return $"body uses the unknown placeholder '{{{placeholder}}}'; known: {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))} and {{option:NAME}}";
                }
            }
        }
    }

    private static IEnumerable<string> PlaceholdersIn(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => PlaceholdersIn(p.Value)),
        JsonArray a => a.SelectMany(PlaceholdersIn),
        JsonValue v when v.TryGetValue<string>(out var s) && Placeholder(s) is { } name => [name],
        _ => [],
    };

    private static string? Placeholder(string text) =>
        text.Length > 2 && text[0] == '{' && text[^1] == '}' && !text.AsSpan(1, text.Length - 2).ContainsAny("{}\" ") ? text[1..^1] : null;

    /// <summary>
    /// Renders a node. <paramref name="onlyEmpty"/>: it had placeholders and every one was empty (the caller drops it).
    /// <paramref name="requiredMissing"/>: a required placeholder ("{image!}") in it had no value, which drops the
    /// objects that hold it up to the nearest array item (an image item of a content list).
    /// </summary>
    private JsonNode? Render(JsonNode? node, UpstreamRequestValues values, out bool onlyEmpty, out bool requiredMissing)
    {
        onlyEmpty = false;
        requiredMissing = false;
        switch (node)
        {
            case JsonObject obj:
            {
                var result = new JsonObject();
                var any = false;
                var allEmpty = true;
                foreach (var (key, child) in obj)
                {
                    var rendered = Render(child, values, out var childEmpty, out var childMissing);
                    if (childMissing)
                    {
                        requiredMissing = true;
                        return null;
                    }

                    var hadPlaceholders = PlaceholdersIn(child).Any();
                    any |= hadPlaceholders;
                    if (hadPlaceholders && childEmpty)
                    {
                        continue;
                    }

                    allEmpty &= !hadPlaceholders;
                    result[key] = rendered;
                }

                onlyEmpty = any && allEmpty;
                return result;
            }

            case JsonArray array:
            {
                var result = new JsonArray();
                var any = false;
                var allEmpty = true;
                foreach (var child in array)
                {
                    // An item holding {reference_image} stands for one item per reference image.
                    if (values.Current is null && PlaceholdersIn(child).Any(p => p.TrimEnd('!') == "reference_image"))
                    {
                        any = true;
                        foreach (var reference in values.ReferenceImageDataUris ?? [])
                        {
                            var item = Render(child, values with { Current = reference }, out _, out var itemMissing);
                            if (!itemMissing)
                            {
                                allEmpty = false;
                                result.Add(item);
                            }
                        }

                        continue;
                    }

                    var rendered = Render(child, values, out var childEmpty, out var childMissing);
                    var hadPlaceholders = PlaceholdersIn(child).Any();
                    any |= hadPlaceholders;
                    if (childMissing || (hadPlaceholders && childEmpty))
                    {
                        continue;
                    }

                    allEmpty &= !hadPlaceholders;
                    result.Add(rendered);
                }

                onlyEmpty = any && allEmpty;
                return result;
            }

            case JsonValue value when value.TryGetValue<string>(out var s) && Placeholder(s) is { } name:
                var resolved = Resolve(name.TrimEnd('!'), values);
                onlyEmpty = resolved is null;
                requiredMissing = resolved is null && name.EndsWith('!');
                return resolved;
            default:
                return node?.DeepClone();
        }
    }

    private static JsonValue? Mime(string? dataUri) =>
        dataUri is { } uri && uri.StartsWith("data:", StringComparison.Ordinal) && uri.IndexOf(';', StringComparison.Ordinal) is > 5 and var semi
            ? JsonValue.Create(uri[5..semi])
            : null;

    private JsonNode? Resolve(string name, UpstreamRequestValues v)
    {
        var job = v.Job;
        string? Mapped(string key, string? value) =>
            value is not null && Values.TryGetValue(key, out var map) && map.TryGetValue(value, out var upstream) ? upstream : value;

        switch (name)
        {
            case "model":
                return JsonValue.Create(Id);
            case "prompt":
                return string.IsNullOrEmpty(job.Prompt) ? null : JsonValue.Create(job.Prompt);
            case "duration":
                return Mapped("duration", job.DurationSeconds.ToString(CultureInfo.InvariantCulture)) is { } d && int.TryParse(d, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                    ? JsonValue.Create(seconds)
                    : JsonValue.Create(Mapped("duration", job.DurationSeconds.ToString(CultureInfo.InvariantCulture)));
            case "duration:string":
                return JsonValue.Create(Mapped("duration", job.DurationSeconds.ToString(CultureInfo.InvariantCulture)));
            case "size":
                return JsonValue.Create(Mapped("size", job.Size));
            case "width":
                return JsonValue.Create(job.Width);
            case "height":
                return JsonValue.Create(job.Height);
            case "resolution":
                return v.Tier is null ? null : JsonValue.Create(Mapped("resolution", v.Tier));
            case "aspect_ratio":
                return v.Aspect is null ? null : JsonValue.Create(Mapped("aspect_ratio", v.Aspect));
            case "seed":
                return job.Seed is { } seed ? JsonValue.Create(seed) : null;
            case "image":
                return v.ImageDataUri is null ? null : JsonValue.Create(v.ImageDataUri);
            case "image:base64":
                return v.ImageDataUri is null ? null : JsonValue.Create(v.ImageDataUri[(v.ImageDataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]);
            case "image:mime":
                return Mime(v.ImageDataUri);
            case "last_frame":
                return v.LastFrameDataUri is null ? null : JsonValue.Create(v.LastFrameDataUri);
            case "last_frame:base64":
                return v.LastFrameDataUri is null ? null : JsonValue.Create(v.LastFrameDataUri[(v.LastFrameDataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]);
            case "last_frame:mime":
                return Mime(v.LastFrameDataUri);
            case "reference_images":
                return v.ReferenceImageDataUris is { Count: > 0 } references ? new JsonArray([.. references.Select(r => (JsonNode?)JsonValue.Create(r))]) : null;
            case "reference_image":
                return v.Current is null ? null : JsonValue.Create(v.Current);
            default:
                var option = name["option:".Length..];
                if (!job.Options.TryGetValue(option, out var text))
                {
                    return null;
                }

                var mapped = Mapped(option, text)!;
                return v.OptionTypes.GetValueOrDefault(option) switch
                {
                    "bool" when bool.TryParse(mapped, out var b) => JsonValue.Create(b),
                    "int" when long.TryParse(mapped, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
                    _ => JsonValue.Create(mapped),
                };
        }
    }
}

/// <summary>One public model's default upstream model ids at a provider type, per mode.</summary>
public sealed class UpstreamModelIds
{
    /// <summary>The upstream id for text-to-video.</summary>
    [JsonPropertyName("t2v")]
    public string? TextToVideo { get; set; }

    /// <summary>The upstream id for image-to-video.</summary>
    [JsonPropertyName("i2v")]
    public string? ImageToVideo { get; set; }

    /// <summary>
    /// The upstream id for first+last frame jobs, where the upstream names a different model for them (unset: the i2v
    /// one serves them).
    /// </summary>
    [JsonPropertyName("first_last")]
    public string? FirstLast { get; set; }

    /// <summary>
    /// The upstream id for reference-image jobs, where the upstream names a different model for them (DashScope's
    /// wan2.6-r2v; unset: the t2v one, or the i2v one for a job with a first frame too, serves them).
    /// </summary>
    [JsonPropertyName("reference")]
    public string? Reference { get; set; }

    /// <summary>The id for a mode.</summary>
    public string? For(VideoMode mode) => mode == VideoMode.ImageToVideo ? ImageToVideo : TextToVideo;

    /// <summary>The id of a slot ("t2v", "i2v", "first_last" or "reference"), or null.</summary>
    public string? ForSlot(string slot) => slot switch
    {
        VideoModes.TextToVideo => TextToVideo,
        VideoModes.ImageToVideo => ImageToVideo,
        VideoModes.FirstLast => FirstLast,
        VideoModes.Reference => Reference,
        _ => null,
    };

    /// <summary>Every slot that is set, as (slot, id).</summary>
    public IEnumerable<(string Slot, string Id)> Slots()
    {
        foreach (var slot in VideoModes.All)
        {
            if (ForSlot(slot) is { } id)
            {
                yield return (slot, id);
            }
        }
    }

    /// <summary>
    /// The slot a job's upstream model comes from beyond its mode: "reference" for a job with reference images,
    /// "first_last" for one with a last frame; null for a plain t2v or i2v job.
    /// </summary>
    public static string? ExtraSlot(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.ReferenceImageKeys.Count > 0 ? VideoModes.Reference : job.LastFrameKey is not null ? VideoModes.FirstLast : null;
    }
}

/// <summary>The values a request body is rendered from.</summary>
/// <param name="Job">The job.</param>
/// <param name="Tier">Its resolution tier, when it has one.</param>
/// <param name="Aspect">Its aspect ratio, when it has one.</param>
/// <param name="ImageDataUri">The first frame as a data URI (image-to-video).</param>
/// <param name="OptionTypes">Option name → its catalog type (bool, int, enum, string).</param>
public sealed record UpstreamRequestValues(Job Job, string? Tier, string? Aspect, string? ImageDataUri, IReadOnlyDictionary<string, string> OptionTypes)
{
    /// <summary>The last frame as a data URI (first+last frame jobs).</summary>
    public string? LastFrameDataUri { get; init; }

    /// <summary>The reference images as data URIs, in the job's order.</summary>
    public IReadOnlyList<string>? ReferenceImageDataUris { get; init; }

    /// <summary>While an item holding {reference_image} is repeated: the reference image of this repetition.</summary>
    internal string? Current { get; init; }
}
