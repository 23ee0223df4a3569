using System.Globalization;
using System.Text.Json;

namespace Reelay.Jobs;

/// <summary>What a job does: generate a new video, or derive one from a completed job of the same owner.</summary>
public enum JobOperation
{
    /// <summary>A new video from a prompt (and optionally a first frame).</summary>
    Generate = 0,

    /// <summary>A new video from a completed one and a new prompt: same model, size and length unless the request says otherwise.</summary>
    Remix = 1,

    /// <summary>A new video from a completed one and a prompt that says what to change.</summary>
    Edit = 2,

    /// <summary>A completed video continued by some seconds: the result is the stitched whole.</summary>
    Extend = 3,
}

/// <summary>
/// Operation names as the catalog, routing and configuration spell them, and the facts a derived job keeps. Those facts
/// live in the job's <see cref="Job.Options"/> under reserved <c>reelay.</c> keys (which the catalog never accepts from a
/// client), so every job store keeps them without a schema change.
/// </summary>
public static class JobOperations
{
    /// <summary>"generate".</summary>
    public const string Generate = "generate";

    /// <summary>"remix".</summary>
    public const string Remix = "remix";

    /// <summary>"edit".</summary>
    public const string Edit = "edit";

    /// <summary>"extend".</summary>
    public const string Extend = "extend";

    /// <summary>"characters": the model or upstream takes character references in a request.</summary>
    public const string Characters = "characters";

    /// <summary>Every name a catalog model, a deployment or a provider may list under <c>operations</c>.</summary>
    public static IReadOnlyList<string> All { get; } = [Generate, Remix, Edit, Extend, Characters];

    /// <summary>What a model, deployment or provider offers when it says nothing: generate only.</summary>
    public static IReadOnlyList<string> GenerateOnly { get; } = [Generate];

    /// <summary>The prefix of the reserved option keys; the catalog refuses options a client sends under it.</summary>
    public const string ReservedPrefix = "reelay.";

    internal const string OperationKey = "reelay.operation";
    internal const string SourceKey = "reelay.source";
    internal const string SourceProviderKey = "reelay.source_provider";
    internal const string SourceUpstreamModelKey = "reelay.source_upstream_model";
    internal const string SourceUpstreamIdKey = "reelay.source_upstream_id";
    internal const string SourceResultKey = "reelay.source_result_key";
    internal const string ExtensionSecondsKey = "reelay.extension_seconds";
    internal const string UpstreamResultKey = "reelay.upstream_result";
    internal const string SourceUpstreamResultKey = "reelay.source_upstream_result";
    internal const string CharactersKey = "reelay.characters";
    internal const string LastFrameKey = "reelay.last_frame_key";
    internal const string ReferenceImageKeys = "reelay.reference_image_keys";
    internal const string UpstreamFinishedAtKey = "reelay.upstream_finished_at";

    /// <summary>"generate", "remix", "edit" or "extend".</summary>
    public static string ToWire(this JobOperation operation) => operation switch
    {
        JobOperation.Remix => Remix,
        JobOperation.Edit => Edit,
        JobOperation.Extend => Extend,
        _ => Generate,
    };

    /// <summary>Parses a wire name; null when it is not an operation.</summary>
    public static JobOperation? TryParse(string? value) => value switch
    {
        Generate => JobOperation.Generate,
        Remix => JobOperation.Remix,
        Edit => JobOperation.Edit,
        Extend => JobOperation.Extend,
        _ => null,
    };

    /// <summary>The options of a job without the reserved keys: what a provider may send upstream as model options.</summary>
    public static IEnumerable<KeyValuePair<string, string>> ModelOptions(this Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Options.Where(o => !o.Key.StartsWith(ReservedPrefix, StringComparison.Ordinal));
    }

    /// <summary>The options of a succeeded job with the upstream's own reference to its result kept (see <see cref="Job.UpstreamResult"/>).</summary>
    public static IReadOnlyDictionary<string, string> WithUpstreamResult(IReadOnlyDictionary<string, string> options, string? reference)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(reference))
        {
            return options;
        }

        return new Dictionary<string, string>(options, StringComparer.Ordinal) { [UpstreamResultKey] = reference };
    }

    /// <summary>When the upstream first reported the job finished (its result ready to copy), when that was recorded.</summary>
    public static DateTimeOffset? UpstreamFinishedAt(IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TryGetValue(UpstreamFinishedAtKey, out var value) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
    }

    /// <summary><paramref name="options"/> with the moment the upstream first reported the job finished.</summary>
    public static IReadOnlyDictionary<string, string> WithUpstreamFinishedAt(IReadOnlyDictionary<string, string> options, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new Dictionary<string, string>(options, StringComparer.Ordinal) { [UpstreamFinishedAtKey] = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };
    }

    internal static string WriteKeys(IReadOnlyList<string> keys) => JsonSerializer.Serialize(keys.ToArray(), JobOperationJsonContext.Default.StringArray);

    internal static IReadOnlyList<string> ReadKeys(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, JobOperationJsonContext.Default.StringArray) ?? [];

    internal static string WriteCharacters(IReadOnlyList<CharacterReference> characters) =>
        JsonSerializer.Serialize(characters.Select(c => new[] { c.Id, c.Name }).ToArray(), JobOperationJsonContext.Default.StringArrayArray);

    internal static IReadOnlyList<CharacterReference> ReadCharacters(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        var pairs = JsonSerializer.Deserialize(json, JobOperationJsonContext.Default.StringArrayArray) ?? [];
        return pairs.Where(p => p.Length == 2).Select(p => new CharacterReference(p[0], p[1])).ToList();
    }
}

/// <summary>A character a job shows, by id and display name.</summary>
/// <param name="Id">The character's id (char_...).</param>
/// <param name="Name">Its display name.</param>
public sealed record CharacterReference(string Id, string Name);

[System.Text.Json.Serialization.JsonSerializable(typeof(string[][]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class JobOperationJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
