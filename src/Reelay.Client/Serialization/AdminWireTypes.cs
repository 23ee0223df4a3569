using System.Text.Json.Serialization;
using Reelay.Client.Admin;

namespace Reelay.Client.Serialization;

/// <summary>The <c>{"object":"list","data":[...]}</c> answers of the admin API.</summary>
internal sealed class AdminList<T>
{
    public string? Object { get; init; }

    public List<T> Data { get; init; } = [];
}

/// <summary>The admin API's answers (requests are written by hand: PATCH must tell "absent" from "null").</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ApiKey))]
[JsonSerializable(typeof(AdminList<ApiKey>))]
[JsonSerializable(typeof(Charge))]
[JsonSerializable(typeof(AdminList<Charge>))]
[JsonSerializable(typeof(UsageReport))]
[JsonSerializable(typeof(AdminList<ProviderStatus>))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
