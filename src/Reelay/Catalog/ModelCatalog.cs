using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Reelay.Jobs;
using Reelay.Media;

namespace Reelay.Catalog;

/// <summary>
/// The models Reelay knows, loaded from the catalog shipped with the library and an optional operator file that
/// adds, replaces or disables models. Validates requests before anything is stored.
/// </summary>
public sealed class ModelCatalog
{
    private static readonly Lazy<ModelCatalog> ShippedCatalog = new(() => Load());
    private readonly Dictionary<string, ModelDefinition> _models;
    private readonly Dictionary<(string Type, string Id), UpstreamModelDefinition> _upstreams = [];

    /// <summary>Creates a catalog from definitions.</summary>
    public ModelCatalog(IEnumerable<ModelDefinition> models)
        : this(models, [])
    {
    }

    /// <summary>Creates a catalog from public model definitions and the upstream models that serve them.</summary>
    public ModelCatalog(IEnumerable<ModelDefinition> models, IEnumerable<UpstreamModelDefinition> upstreams)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(upstreams);
        _models = new Dictionary<string, ModelDefinition>(StringComparer.Ordinal);
        foreach (var model in models.Where(m => !m.Disabled))
        {
            CheckDefinition(model);
            _models[model.Name] = model;
        }

        foreach (var upstream in upstreams)
        {
            _upstreams[(upstream.Type.ToLowerInvariant(), upstream.Id)] = upstream;
        }

        CheckUpstreams();
    }

    /// <summary>The catalog shipped with the library, without operator changes (adapters built outside a host use it).</summary>
    public static ModelCatalog Shipped => ShippedCatalog.Value;

    /// <summary>Every upstream model described in the catalog.</summary>
    public IReadOnlyCollection<UpstreamModelDefinition> Upstreams => _upstreams.Values;

    /// <summary>The facts of upstream model <paramref name="id"/> at provider type <paramref name="type"/>, or null.</summary>
    public UpstreamModelDefinition? FindUpstream(string type, string id)
    {
        ArgumentNullException.ThrowIfNull(type);
        return _upstreams.GetValueOrDefault((type.ToLowerInvariant(), id));
    }

    /// <summary>Whether the catalog describes any upstream model of provider type <paramref name="type"/>.</summary>
    public bool DescribesType(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var lower = type.ToLowerInvariant();
        return _upstreams.Keys.Any(k => k.Type == lower);
    }

    /// <summary>The catalog's default upstream model id for a public model, provider type and mode, or null.</summary>
    public string? DefaultUpstreamModel(string publicModel, string type, VideoMode mode)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Find(publicModel)?.UpstreamModels.FirstOrDefault(u => string.Equals(u.Key, type, StringComparison.OrdinalIgnoreCase)).Value?.For(mode);
    }

    /// <summary>
    /// The catalog's default upstream model id for a public model, provider type and slot ("t2v", "i2v", "first_last" or
    /// "reference"), or null when the model names none for that slot.
    /// </summary>
    public string? DefaultUpstreamModel(string publicModel, string type, string slot)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Find(publicModel)?.UpstreamModels.FirstOrDefault(u => string.Equals(u.Key, type, StringComparison.OrdinalIgnoreCase)).Value?.ForSlot(slot);
    }

    /// <summary>The resolution tier of a validated job: the one it asked for, the tier whose sizes hold its size, or "&lt;short side&gt;p".</summary>
    public string TierOf(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Resolution is { } asked)
        {
            return asked;
        }

        return Find(job.Model) is { } model && TierOfSize(model, job.Width, job.Height) is { } tier
            ? tier
            : Math.Min(job.Width, job.Height).ToString(CultureInfo.InvariantCulture) + "p";
    }

    /// <summary>The aspect ratio of a validated job: the one it asked for, or the one its model's tier table gives its size; null when neither says.</summary>
    public string? AspectOf(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.AspectRatio is { } asked)
        {
            return asked;
        }

        var size = job.Size;
        return Find(job.Model)?.Resolutions.Values.SelectMany(r => r).FirstOrDefault(r => r.Value == size).Key;
    }

    /// <summary>Option name → its type for a public model (empty when the model is unknown).</summary>
    public IReadOnlyDictionary<string, string> OptionTypes(string publicModel) =>
        Find(publicModel)?.Options.ToDictionary(o => o.Key, o => o.Value.Type, StringComparer.Ordinal) ?? new Dictionary<string, string>();

    /// <summary>Checks an upstream model can serve a job: null when it can, else why not (an id the catalog does not describe included).</summary>
    public string? CheckUpstream(string type, Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        return FindUpstream(type, upstreamModel) is { } upstream
            ? upstream.Check(job, TierOf(job), AspectOf(job))
            : $"upstream model '{upstreamModel}' is not described in the catalog (upstreams.{type.ToLowerInvariant()}); add it there (see docs/providers.md)";
    }

    private void CheckUpstreams()
    {
        var errors = new List<string>();
        foreach (var upstream in _upstreams.Values)
        {
            var type = upstream.Type.ToLowerInvariant();
            var optionNames = _models.Values
                .Where(m => m.UpstreamModels.Any(u => string.Equals(u.Key, type, StringComparison.OrdinalIgnoreCase) && u.Value.Slots().Any(s => s.Id == upstream.Id)))
                .SelectMany(m => m.Options.Keys)
                .ToHashSet(StringComparer.Ordinal);
            errors.AddRange(upstream.Problems(optionNames).Select(p => $"catalog upstreams.{type}.'{upstream.Id}': {p}."));
        }

        foreach (var model in _models.Values)
        {
            foreach (var (type, ids) in model.UpstreamModels)
            {
                foreach (var (mode, id) in ids.Slots())
                {
                    // A reference-only model's requests have no first frame: its upstream model may sit in the t2v slot.
                    // The first_last and reference slots name models for those jobs only, so they must take them.
                    bool Serves(List<string> modes) => modes.Contains(mode) || (mode == "t2v" && modes.Contains(VideoModes.Reference));
                    if (!Serves(model.Modes))
                    {
                        errors.Add($"catalog model '{model.Name}': upstreamModels.{type}.{mode} is set, but the model has no {mode} mode.");
                    }
                    else if (DescribesType(type) && FindUpstream(type, id) is null)
                    {
                        errors.Add($"catalog model '{model.Name}': upstreamModels.{type}.{mode} names '{id}', which upstreams.{type.ToLowerInvariant()} does not describe.");
                    }
                    else if (FindUpstream(type, id) is { } upstream && !Serves(upstream.Modes))
                    {
                        errors.Add($"catalog model '{model.Name}': upstreamModels.{type}.{mode} names '{id}', whose modes ({string.Join(", ", upstream.Modes)}) do not include {mode}.");
                    }
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }
    }

    /// <summary>Every enabled model, by name.</summary>
    public IReadOnlyCollection<ModelDefinition> Models => _models.Values;

    /// <summary>The model by public name, or null.</summary>
    public ModelDefinition? Find(string name) => _models.GetValueOrDefault(name);

    /// <summary>Loads the shipped catalog, then applies the operator file at <paramref name="overridePath"/> if given.</summary>
    public static ModelCatalog Load(string? overridePath = null)
    {
        using var stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream("Reelay.Catalog.catalog.json")
            ?? throw new InvalidOperationException("The shipped catalog resource is missing.");
        var (models, upstreams) = Parse(stream, "the shipped catalog");
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            if (!File.Exists(overridePath))
            {
                throw new InvalidOperationException($"Reelay:Catalog:Path names '{overridePath}', which does not exist.");
            }

            using var file = File.OpenRead(overridePath);
            var (extraModels, extraUpstreams) = Parse(file, overridePath);
            foreach (var (name, model) in extraModels)
            {
                models[name] = model;
            }

            foreach (var (key, upstream) in extraUpstreams)
            {
                upstreams[key] = upstream;
            }
        }

        return new ModelCatalog(models.Values, upstreams.Values);
    }

    private static (Dictionary<string, ModelDefinition> Models, Dictionary<(string, string), UpstreamModelDefinition> Upstreams) Parse(Stream json, string source)
    {
        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, CatalogJsonContext.Default.CatalogFile);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The catalog in {source} is not valid: {ex.Message}", ex);
        }

        var result = new Dictionary<string, ModelDefinition>(StringComparer.Ordinal);
        foreach (var (name, model) in file?.Models ?? [])
        {
            model.Name = name;
            result[name] = model;
        }

        var upstreams = new Dictionary<(string, string), UpstreamModelDefinition>();
        foreach (var (type, byId) in file?.Upstreams ?? [])
        {
            foreach (var (id, upstream) in byId)
            {
                upstream.Type = type.ToLowerInvariant();
                upstream.Id = id;
                upstreams[(upstream.Type, id)] = upstream;
            }
        }

        return (result, upstreams);
    }

    private static void CheckDefinition(ModelDefinition m)
    {
        string Where() => $"catalog model '{m.Name}'";
        if (m.Operations is { } operations && operations.FirstOrDefault(o => !JobOperations.All.Contains(o)) is { } unknownOperation)
        {
            throw new InvalidOperationException($"{Where()}: operations names '{unknownOperation}'; allowed: {string.Join(", ", JobOperations.All)}.");
        }

        if (m.Modes.Count == 0 || m.Modes.Any(x => !VideoModes.All.Contains(x)))
        {
            throw new InvalidOperationException($"{Where()}: modes must be a non-empty list of {string.Join(", ", VideoModes.All)}.");
        }

        if (m.Modes.Contains(VideoModes.Reference) != m.MaxReferenceImages > 0)
        {
            throw new InvalidOperationException($"{Where()}: maxReferenceImages must be set (1 or more) exactly when modes include reference.");
        }

        if (m.Modes.Contains(VideoModes.FirstLast) && !m.Modes.Contains(VideoModes.ImageToVideo))
        {
            throw new InvalidOperationException($"{Where()}: the first_last mode needs the i2v mode too (a last frame comes with a first frame).");
        }

        if (!m.Durations.Allows(m.DefaultDuration))
        {
            throw new InvalidOperationException($"{Where()}: defaultDuration {m.DefaultDuration} is not among its durations ({m.Durations.Describe()}).");
        }

        if (m.Sizes.Count == 0 && m.AnySize is null && m.Tiers.Count == 0)
        {
            throw new InvalidOperationException($"{Where()}: give sizes, anySize or tiers.");
        }

        foreach (var tier in m.ResolutionDurations.Keys)
        {
            if (!m.Resolutions.ContainsKey(tier) && !m.Tiers.ContainsKey(tier))
            {
                throw new InvalidOperationException($"{Where()}: resolutionDurations names '{tier}', which is not one of its resolutions.");
            }
        }

        foreach (var (tier, price) in m.Pricing)
        {
            if (tier != "*" && !m.Resolutions.ContainsKey(tier) && !m.Tiers.ContainsKey(tier))
            {
                throw new InvalidOperationException($"{Where()}: pricing names '{tier}', which is not one of its resolutions (or '*').");
            }

            if (price < 0 || !Accounts.Money.IsWholeMicros(price))
            {
                throw new InvalidOperationException($"{Where()}: pricing for '{tier}' must be a non-negative USD amount with at most six decimal places.");
            }
        }

        foreach (var size in m.Sizes.Concat(m.Resolutions.Values.SelectMany(r => r.Values)))
        {
            if (TryParseSize(size) is null)
            {
                throw new InvalidOperationException($"{Where()}: '{size}' is not a WxH size.");
            }
        }
    }

    /// <summary>
    /// Validates a request against its model. <paramref name="firstFrame"/> is the sniffed first frame for
    /// image-to-video (its bytes were already checked). Throws <see cref="ReelayException"/> naming the field.
    /// </summary>
    public JobSpec Validate(JobRequest request, ImageInfo? firstFrame)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            throw ReelayException.Invalid("model", $"'model' is required; available models: {string.Join(", ", _models.Keys)}.");
        }

        var model = Find(request.Model)
            ?? throw new ReelayException(ErrorCodes.UnsupportedModel, $"Model '{request.Model}' is not offered; available models: {string.Join(", ", _models.Keys)}.", "model");

        var operation = request.Operation.ToWire();
        if (!model.Offers(operation))
        {
            var offering = _models.Values.Where(m => !m.Disabled && m.Offers(operation)).Select(m => m.Name).ToList();
            throw new ReelayException(
                ErrorCodes.UnsupportedModel,
                $"Model '{model.Name}' does not offer the {operation} operation; {(offering.Count == 0 ? "no model on this gateway does" : "models that do: " + string.Join(", ", offering))}.",
                "model");
        }

        if (request.CharacterIds is { Count: > 0 } && !model.Offers(JobOperations.Characters))
        {
            var offering = _models.Values.Where(m => !m.Disabled && m.Offers(JobOperations.Characters)).Select(m => m.Name).ToList();
            throw new ReelayException(
                ErrorCodes.UnsupportedModel,
                $"Model '{model.Name}' does not take characters; {(offering.Count == 0 ? "no model on this gateway does" : "models that do: " + string.Join(", ", offering))}.",
                "model");
        }

        var mode = request.Mode ?? (request.FirstFrame is not null ? VideoMode.ImageToVideo : VideoMode.TextToVideo);
        var references = request.ReferenceImages ?? [];
        CheckExtraInputs(model, request, references);
        if (!model.Modes.Contains(mode.ToWire()) && !(mode == VideoMode.TextToVideo && references.Count > 0))
        {
            if (mode == VideoMode.TextToVideo && model.Modes.Contains(VideoModes.Reference) && !model.Modes.Contains(VideoModes.ImageToVideo))
            {
                throw ReelayException.Invalid("reference_images", $"Model '{model.Name}' makes video from reference images only; give 1 to {model.MaxReferenceImages} reference images.");
            }

            throw mode == VideoMode.TextToVideo
                ? ReelayException.Invalid("first_frame", $"Model '{model.Name}' makes video from an image only; give a first frame.")
                : ReelayException.Invalid("first_frame", $"Model '{model.Name}' makes video from text only; it does not take a first frame.");
        }

        if (mode == VideoMode.ImageToVideo && request.FirstFrame is null)
        {
            throw ReelayException.Invalid("first_frame", "Image-to-video needs a first frame image.");
        }

        var prompt = request.Prompt;
        if (mode == VideoMode.TextToVideo && string.IsNullOrWhiteSpace(prompt))
        {
            throw ReelayException.Invalid("prompt", "'prompt' is required for text-to-video and must not be empty.");
        }

        if (prompt is not null && prompt.Length > model.MaxPromptLength)
        {
            throw ReelayException.Invalid("prompt", $"'prompt' has {prompt.Length} characters; model '{model.Name}' allows at most {model.MaxPromptLength}.");
        }

        var duration = request.DurationSeconds ?? model.DefaultDuration;
        if (!model.Durations.Allows(duration))
        {
            throw ReelayException.Invalid("duration", $"duration {duration} s is not offered by model '{model.Name}'; allowed: {model.Durations.Describe()} seconds.");
        }

        if (request.Seed is not null && !model.Seed)
        {
            throw ReelayException.Invalid("seed", $"Model '{model.Name}' does not take a seed.");
        }

        if (references.Count > 0 && model.ReferenceDurations is { } referenceDurations && !referenceDurations.Allows(duration))
        {
            throw ReelayException.Invalid("duration", $"duration {duration} s is not offered by model '{model.Name}' with reference images; allowed: {referenceDurations.Describe()} seconds.");
        }

        var (width, height, resolution, aspect) = ResolveSize(model, request, firstFrame);
        var tier = resolution ?? TierOfSize(model, width, height);
        if (tier is not null && model.ResolutionDurations.TryGetValue(tier, out var tierDurations) && !tierDurations.Allows(duration))
        {
            throw ReelayException.Invalid("duration", $"duration {duration} s is not offered by model '{model.Name}' at {tier} ({width}x{height}); allowed at {tier}: {tierDurations.Describe()} seconds.");
        }

        var options = ValidateOptions(model, request.Options);
        return new JobSpec(model, mode, prompt, duration, width, height, resolution, aspect, request.Seed, options);
    }

    // The last frame and the reference images: the model's modes say whether it takes them, each error names the field.
    private void CheckExtraInputs(ModelDefinition model, JobRequest request, IReadOnlyList<InputImage> references)
    {
        if (request.LastFrame is { } last)
        {
            if (request.FirstFrame is null)
            {
                throw ReelayException.Invalid(last.Param, $"'{last.Param}' is a last frame, which needs a first frame too; give both, or send the image as the first frame.");
            }

            if (!model.Modes.Contains(VideoModes.FirstLast))
            {
                throw ReelayException.Invalid(last.Param, $"Model '{model.Name}' does not take a last frame ('{last.Param}'; mode {VideoModes.FirstLast}); {Offering(VideoModes.FirstLast)}.");
            }
        }

        if (references.Count == 0)
        {
            return;
        }

        var param = ListParam(references[0].Param);
        if (!model.Modes.Contains(VideoModes.Reference))
        {
            throw ReelayException.Invalid(param, $"Model '{model.Name}' does not take reference images ('{param}'; mode {VideoModes.Reference}); {Offering(VideoModes.Reference)}.");
        }

        if (references.Count > model.MaxReferenceImages)
        {
            throw ReelayException.Invalid(references[model.MaxReferenceImages].Param, $"Model '{model.Name}' takes at most {model.MaxReferenceImages} reference images in '{param}' (got {references.Count}).");
        }

        if (request.FirstFrame is { } first && !model.ReferenceWithFirstFrame)
        {
            throw ReelayException.Invalid(param, $"Model '{model.Name}' takes reference images ('{param}') or a first frame ('{first.Param}'), not both.");
        }

        if (request.LastFrame is { } lastFrame)
        {
            throw ReelayException.Invalid(param, $"Reference images ('{param}') and a last frame ('{lastFrame.Param}') cannot be combined; the upstreams treat them as different modes.");
        }
    }

    private string Offering(string mode)
    {
        var models = _models.Values.Where(m => !m.Disabled && m.Modes.Contains(mode)).Select(m => m.Name).ToList();
        return models.Count == 0 ? "no model on this gateway does" : "models that do: " + string.Join(", ", models);
    }

    /// <summary>"image_urls" of "image_urls[2]": the name of the list an indexed field belongs to.</summary>
    internal static string ListParam(string param)
    {
        var bracket = param.LastIndexOf('[');
        return bracket > 0 && param.EndsWith(']') ? param[..bracket] : param;
    }

    private static (int Width, int Height, string? Resolution, string? Aspect) ResolveSize(ModelDefinition model, JobRequest request, ImageInfo? image)
    {
        var aspect = request.AspectRatio;
        if (aspect is not null && (model.AspectRatios.Count > 0 || model.Tiers.Count == 0) && !model.AspectRatios.Contains(aspect))
        {
            throw ReelayException.Invalid("aspect_ratio", $"aspect_ratio '{aspect}' is not offered by model '{model.Name}'; allowed: {DurationRule.JoinOr(model.AspectRatios)}.");
        }

        if (aspect is not null && model.AspectRatios.Count == 0 && ParseRatio(aspect) is null)
        {
            throw ReelayException.Invalid("aspect_ratio", $"aspect_ratio '{aspect}' is not of the form W:H.");
        }

        if (request.Size is { } sizeText)
        {
            var size = TryParseSize(sizeText)
                ?? throw ReelayException.Invalid("size", $"size '{sizeText}' is not of the form WIDTHxHEIGHT, e.g. 1280x720.");
            if (!SizeAllowed(model, size.W, size.H))
            {
                throw ReelayException.Invalid("size", $"size '{sizeText}' is not offered by model '{model.Name}'; allowed: {DescribeSizes(model)}.");
            }

            return (size.W, size.H, request.Resolution, aspect);
        }

        var tier = request.Resolution ?? (model.Resolutions.Count == 0 && model.Tiers.Count > 0 && model.AnySize is null ? model.DefaultResolution : null);
        if (tier is null && aspect is null)
        {
            var fallback = TryParseSize(model.DefaultSize ?? "") ?? throw new InvalidOperationException($"catalog model '{model.Name}' has no default size.");
            if (image is not null && model.Resolutions.Count > 0 && model.AspectRatios.Count > 0)
            {
                // Follow the first frame's orientation among the model's default tier.
                var shape = ClosestAspect(model.AspectRatios, image.Width, image.Height);
                var tierSizes = model.Resolutions.Values.First(r => r.ContainsValue(model.DefaultSize ?? ""));
                if (tierSizes.TryGetValue(shape, out var s) && TryParseSize(s) is { } fitted)
                {
                    return (fitted.W, fitted.H, null, shape);
                }
            }

            return (fallback.W, fallback.H, null, null);
        }

        if (model.Resolutions.Count > 0)
        {
            tier ??= model.Resolutions.Keys.First();
            if (!model.Resolutions.TryGetValue(tier, out var byAspect))
            {
                throw ReelayException.Invalid("resolution", $"resolution '{tier}' is not offered by model '{model.Name}'; allowed: {DurationRule.JoinOr(model.Resolutions.Keys)}.");
            }

            aspect ??= image is not null ? ClosestAspect(byAspect.Keys, image.Width, image.Height) : model.DefaultAspectRatio ?? byAspect.Keys.First();
            if (!byAspect.TryGetValue(aspect, out var exact))
            {
                throw ReelayException.Invalid("aspect_ratio", $"aspect_ratio '{aspect}' is not offered at {tier} by model '{model.Name}'; allowed: {DurationRule.JoinOr(byAspect.Keys)}.");
            }

            var s = TryParseSize(exact)!.Value;
            return (s.W, s.H, tier, aspect);
        }

        if (model.Tiers.Count > 0)
        {
            tier ??= model.DefaultResolution ?? model.Tiers.Keys.First();
            if (!model.Tiers.TryGetValue(tier, out var shortSide))
            {
                throw ReelayException.Invalid("resolution", $"resolution '{tier}' is not offered by model '{model.Name}'; allowed: {DurationRule.JoinOr(model.Tiers.Keys)}.");
            }

            double ratio;
            if (aspect is not null)
            {
                var r = ParseRatio(aspect)!.Value;
                ratio = (double)r.W / r.H;
            }
            else if (image is not null)
            {
                ratio = (double)image.Width / image.Height;
            }
            else
            {
                var r = ParseRatio(model.DefaultAspectRatio ?? "16:9")!.Value;
                ratio = (double)r.W / r.H;
                aspect = model.DefaultAspectRatio ?? "16:9";
            }

            var (w, h) = ratio >= 1 ? (Even(shortSide * ratio), shortSide) : (shortSide, Even(shortSide / ratio));
            if (model.AnySize is { } any && (w > any.MaxWidth || h > any.MaxHeight))
            {
                throw ReelayException.Invalid("resolution", $"resolution '{tier}' at that aspect ratio makes {w}x{h}, larger than model '{model.Name}' allows ({any.MaxWidth}x{any.MaxHeight}).");
            }

            return (w, Even(h), tier, aspect);
        }

        throw ReelayException.Invalid("resolution", $"Model '{model.Name}' takes an explicit size; allowed: {DescribeSizes(model)}.");
    }

    /// <summary>The tier whose fixed sizes include WxH (sora-2-pro's 1792x1024 is 1080p), or null.</summary>
    private static string? TierOfSize(ModelDefinition model, int width, int height)
    {
        var size = $"{width}x{height}";
        return model.Resolutions.FirstOrDefault(r => r.Value.ContainsValue(size)).Key;
    }

    private static int Even(double value) => Math.Max(2, (int)Math.Round(value / 2.0, MidpointRounding.AwayFromZero) * 2);

    private static string ClosestAspect(IEnumerable<string> aspects, int width, int height)
    {
        var target = Math.Log((double)width / height);
        return aspects
            .Select(a => (a, r: ParseRatio(a)))
            .Where(x => x.r is not null)
            .OrderBy(x => Math.Abs(Math.Log((double)x.r!.Value.W / x.r.Value.H) - target))
            .Select(x => x.a)
            .First();
    }

    private static bool SizeAllowed(ModelDefinition model, int w, int h)
    {
        if (model.Sizes.Contains($"{w}x{h}"))
        {
            return true;
        }

        if (model.AnySize is { } any)
        {
            return w >= any.MinSide && h >= any.MinSide && w <= any.MaxWidth && h <= any.MaxHeight && (!any.Even || (w % 2 == 0 && h % 2 == 0));
        }

        return false;
    }

    private static string DescribeSizes(ModelDefinition model)
    {
        if (model.AnySize is { } any)
        {
            return $"any{(any.Even ? " even" : "")} WxH from {any.MinSide} up to {any.MaxWidth}x{any.MaxHeight}";
        }

        return model.Sizes.Count > 0 ? DurationRule.JoinOr(model.Sizes) : "a resolution tier (" + DurationRule.JoinOr(model.Tiers.Keys) + ")";
    }

    private static Dictionary<string, string> ValidateOptions(ModelDefinition model, IReadOnlyDictionary<string, string>? given)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in given ?? new Dictionary<string, string>())
        {
            if (!model.Options.TryGetValue(name, out var def))
            {
                var allowed = model.Options.Count == 0 ? "it takes no options" : "allowed: " + DurationRule.JoinOr(model.Options.Keys);
                throw ReelayException.Invalid(name, $"Model '{model.Name}' does not take the option '{name}'; {allowed}.");
            }

            result[name] = NormalizeOption(model, name, def, value);
        }

        foreach (var (name, def) in model.Options)
        {
            if (!result.ContainsKey(name) && def.Default is not null)
            {
                result[name] = def.Default;
            }
        }

        return result;
    }

    private static string NormalizeOption(ModelDefinition model, string name, OptionDefinition def, string value)
    {
        switch (def.Type)
        {
            case "enum":
                var match = def.Values.FirstOrDefault(v => string.Equals(v, value, StringComparison.OrdinalIgnoreCase));
                return match ?? throw ReelayException.Invalid(name, $"{name} '{value}' is not allowed for model '{model.Name}'; allowed: {DurationRule.JoinOr(def.Values)}.");
            case "bool":
                if (bool.TryParse(value, out var b))
                {
                    return b ? "true" : "false";
                }

                throw ReelayException.Invalid(name, $"{name} '{value}' is not a boolean; use true or false.");
            case "int":
                if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                {
                    throw ReelayException.Invalid(name, $"{name} '{value}' is not an integer.");
                }

                if ((def.Min is { } min && n < min) || (def.Max is { } max && n > max))
                {
                    throw ReelayException.Invalid(name, $"{name} {n} is out of range for model '{model.Name}'; allowed: {def.Min} to {def.Max}.");
                }

                return n.ToString(CultureInfo.InvariantCulture);
            default:
                return value;
        }
    }

    /// <summary>Parses "1280x720".</summary>
    public static (int W, int H)? TryParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            && w > 0 && h > 0 && w <= 16384 && h <= 16384
            ? (w, h)
            : null;
    }

    private static (int W, int H)? ParseRatio(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            && w > 0 && h > 0 && w <= 100 && h <= 100
            ? (w, h)
            : null;
    }
}

/// <summary>A request that passed validation, with every default filled in.</summary>
public sealed record JobSpec(
    ModelDefinition Model,
    VideoMode Mode,
    string? Prompt,
    int DurationSeconds,
    int Width,
    int Height,
    string? Resolution,
    string? AspectRatio,
    long? Seed,
    IReadOnlyDictionary<string, string> Options);

internal sealed class CatalogFile
{
    public Dictionary<string, ModelDefinition> Models { get; set; } = [];

    public Dictionary<string, Dictionary<string, UpstreamModelDefinition>> Upstreams { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(CatalogFile))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
