using System.Text.Json;
using System.Text.Json.Serialization;
using Reelay.Jobs;

namespace Reelay.Storage;

/// <summary>The JSON shapes of a job's structured columns, shared by every store: maps as objects, the error as {code,message,param,stage}.</summary>
internal static class JobStoreJson
{
    private static readonly IReadOnlyDictionary<string, string> EmptyMap = new Dictionary<string, string>();

    public static string WriteMap(IReadOnlyDictionary<string, string> map) =>
        map.Count == 0 ? "{}" : JsonSerializer.Serialize(map, JobStoreJsonContext.Default.IReadOnlyDictionaryStringString);

    public static IReadOnlyDictionary<string, string> ReadMap(string json) =>
        json == "{}" ? EmptyMap : JsonSerializer.Deserialize(json, JobStoreJsonContext.Default.IReadOnlyDictionaryStringString) ?? EmptyMap;

    public static string? WriteError(JobError? error) =>
        error is null ? null : JsonSerializer.Serialize(error, JobStoreJsonContext.Default.JobError);

    public static JobError? ReadError(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, JobStoreJsonContext.Default.JobError);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(JobError))]
internal sealed partial class JobStoreJsonContext : JsonSerializerContext;
