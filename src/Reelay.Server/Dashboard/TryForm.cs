using System.Globalization;
using System.Text.Json.Serialization;
using Reelay.Catalog;

namespace Reelay.Server.Dashboard;

/// <summary>What the try-it form offers for one model, built from the catalog.</summary>
public sealed record TryModel(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("modes")] IReadOnlyList<string> Modes,
    [property: JsonPropertyName("durations")] IReadOnlyList<int> Durations,
    [property: JsonPropertyName("default_duration")] int DefaultDuration,
    [property: JsonPropertyName("shapes")] IReadOnlyList<TryShape> Shapes,
    [property: JsonPropertyName("default_shape")] string? DefaultShape)
{
    /// <summary>Sizes offered for a model that takes any size (the sandbox): the common ones, smallest renders fastest.</summary>
    public static readonly string[] CommonSizes = ["1280x720", "720x1280", "960x960", "854x480", "640x360", "360x640"];

    /// <summary>The catalog's enabled models, as the form offers them.</summary>
    public static IReadOnlyList<TryModel> FromCatalog(ModelCatalog catalog) =>
        catalog.Models.Where(m => !m.Disabled).OrderBy(m => m.Name == "sandbox" ? 0 : 1).ThenBy(m => m.Name, StringComparer.Ordinal).Select(From).ToList();

    private static TryModel From(ModelDefinition model)
    {
        var durations = model.Durations.Values is { Count: > 0 } values
            ? values.Order().ToList()
            : Enumerable.Range(model.Durations.Min ?? 1, Math.Max(0, Math.Min(model.Durations.Max ?? 20, 60) - (model.Durations.Min ?? 1) + 1)).ToList();
        var shapes = new List<TryShape>();
        string? preferred = null;
        if (model.Sizes.Count > 0)
        {
            shapes.AddRange(model.Sizes.Select(s => new TryShape("size:" + s, s)));
            preferred = model.DefaultSize is { } d ? "size:" + d : null;
        }
        else if (model.AnySize is not null)
        {
            var sizes = CommonSizes.ToList();
            if (model.DefaultSize is { } d && !sizes.Contains(d))
            {
                sizes.Insert(0, d);
            }

            shapes.AddRange(sizes.Select(s => new TryShape("size:" + s, s)));
            preferred = model.DefaultSize is { } ds ? "size:" + ds : null;
        }
        else
        {
            foreach (var tier in model.Tiers.OrderBy(t => t.Value).Select(t => t.Key))
            {
                foreach (var ratio in model.AspectRatios)
                {
                    shapes.Add(new TryShape($"tier:{tier}:{ratio}", $"{tier} {ratio}"));
                }
            }

            preferred = model.DefaultResolution is { } r ? $"tier:{r}:{model.DefaultAspectRatio ?? model.AspectRatios.FirstOrDefault()}" : null;
        }

        if (preferred is not null && shapes.All(s => s.Value != preferred))
        {
            preferred = null;
        }

        return new TryModel(model.Name, model.Description, model.Modes, durations, model.DefaultDuration, shapes, preferred ?? shapes.FirstOrDefault()?.Value);
    }

    /// <summary>Reads a shape value back: an explicit size, or a tier and an aspect ratio; null when it is neither.</summary>
    public static (string? Size, string? Resolution, string? AspectRatio)? ParseShape(string? value)
    {
        if (value is null)
        {
            return (null, null, null);
        }

        if (value.StartsWith("size:", StringComparison.Ordinal) && ModelCatalog.TryParseSize(value[5..]) is not null)
        {
            return (value[5..], null, null);
        }

        var parts = value.Split(':', 3);
        return parts.Length == 3 && parts[0] == "tier" && parts[1].Length > 0 && parts[2].Length > 0 ? (null, parts[1], parts[2]) : null;
    }

    /// <summary>The duration as a number, or null.</summary>
    public static int? ParseSeconds(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
}

/// <summary>One size choice in the form.</summary>
public sealed record TryShape([property: JsonPropertyName("value")] string Value, [property: JsonPropertyName("label")] string Label);

[JsonSerializable(typeof(IReadOnlyList<TryModel>))]
internal sealed partial class TryJson : JsonSerializerContext;

/// <summary>What the user typed, to fill the form again after a refusal.</summary>
public sealed record TryInput(string? Model, string? Mode, string? Prompt, string? Seconds, string? Shape);
