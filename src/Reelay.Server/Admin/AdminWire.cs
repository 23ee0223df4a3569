using System.Text.Json.Serialization;
using Reelay.Accounts;

namespace Reelay.Server.Admin;

/// <summary>An API key as the admin API shows it: never the secret, except once at creation.</summary>
internal sealed class ApiKeyView
{
    public required string Id { get; init; }
    public string Object => "api_key";
    public required string Name { get; init; }
    public required string Scope { get; init; }
    public string? Prefix { get; init; }
    public long CreatedAt { get; init; }
    public long? ExpiresAt { get; init; }
    public long? RevokedAt { get; init; }
    public bool Active { get; init; }
    public IReadOnlyList<string>? Models { get; init; }
    public int? RateLimitPerMinute { get; init; }
    public int? MaxJobsInFlight { get; init; }
    public decimal? BudgetUsd { get; init; }
    public decimal SpentUsd { get; init; }
    public decimal HeldUsd { get; init; }
    public decimal? AvailableUsd { get; init; }
    public int JobsInFlight { get; init; }

    /// <summary>The secret: present only in the response that created the key.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Key { get; init; }

    public static ApiKeyView From(ApiKeyRecord k, DateTimeOffset now, string? secret = null) => new()
    {
        Id = k.Id,
        Name = k.Name,
        Scope = k.Scope == ApiKeyScope.Admin ? "admin" : "client",
        Prefix = k.Prefix,
        CreatedAt = k.CreatedAt.ToUnixTimeSeconds(),
        ExpiresAt = k.ExpiresAt?.ToUnixTimeSeconds(),
        RevokedAt = k.RevokedAt?.ToUnixTimeSeconds(),
        Active = k.IsActive(now),
        Models = k.AllowedModels,
        RateLimitPerMinute = k.SubmitsPerMinute,
        MaxJobsInFlight = k.MaxJobsInFlight,
        BudgetUsd = k.BudgetMicros is { } b ? Money.ToUsd(b) : null,
        SpentUsd = Money.ToUsd(k.SpentMicros),
        HeldUsd = Money.ToUsd(k.HeldMicros),
        AvailableUsd = k.AvailableMicros is { } a ? Money.ToUsd(a) : null,
        JobsInFlight = k.JobsInFlight,
        Key = secret,
    };
}

internal sealed class ApiKeyList
{
    public string Object => "list";
    public required IReadOnlyList<ApiKeyView> Data { get; init; }
}

internal sealed class ChargeView
{
    public required string JobId { get; init; }
    public string Object => "charge";
    public required string KeyId { get; init; }
    public required string Model { get; init; }
    public required string Tier { get; init; }
    public decimal PricePerSecondUsd { get; init; }
    public int RequestedSeconds { get; init; }
    public decimal HeldUsd { get; init; }
    public required string State { get; init; }
    public decimal ChargedUsd { get; init; }
    public double ProducedSeconds { get; init; }
    public string? Reason { get; init; }
    public long CreatedAt { get; init; }
    public long? ClosedAt { get; init; }

    public static ChargeView From(ChargeRecord c) => new()
    {
        JobId = c.JobId,
        KeyId = c.KeyId,
        Model = c.Model,
        Tier = c.Tier,
        PricePerSecondUsd = Money.ToUsd(c.PricePerSecondMicros),
        RequestedSeconds = c.RequestedSeconds,
        HeldUsd = Money.ToUsd(c.HoldMicros),
        State = c.State.ToWire(),
        ChargedUsd = Money.ToUsd(c.ChargedMicros),
        ProducedSeconds = c.ProducedSeconds,
        Reason = c.Reason,
        CreatedAt = c.CreatedAt.ToUnixTimeSeconds(),
        ClosedAt = c.ClosedAt?.ToUnixTimeSeconds(),
    };
}

internal sealed class ChargeList
{
    public string Object => "list";
    public required IReadOnlyList<ChargeView> Data { get; init; }
}

/// <summary>A usage row as the admin API shows it: its money in USD, its seconds to the millisecond; the rest as stored.</summary>
internal sealed class UsageView
{
    private readonly UsageRow _row;

    private UsageView(UsageRow row) => _row = row;

    public string KeyId => _row.KeyId;
    public string? KeyName => _row.KeyName;
    public string Model => _row.Model;
    public long Jobs => _row.Jobs;
    public long Succeeded => _row.Succeeded;
    public double Seconds => Math.Round(_row.Seconds, 3);
    public decimal SpentUsd => Money.ToUsd(_row.SpentMicros);
    public decimal HeldUsd => Money.ToUsd(_row.HeldMicros);
    public long Unresolved => _row.Unresolved;

    public static UsageView From(UsageRow row) => new(row);
}

internal sealed class UsageReport
{
    public string Object => "usage";
    public long? Since { get; init; }
    public long? Until { get; init; }
    public required IReadOnlyList<UsageView> Data { get; init; }
    public long Jobs { get; init; }
    public double Seconds { get; init; }
    public decimal SpentUsd { get; init; }
    public decimal HeldUsd { get; init; }

    /// <summary>For a client key's own report: its key, with budget and balance.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ApiKeyView? Key { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiKeyView))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(ChargeView))]
[JsonSerializable(typeof(ChargeList))]
[JsonSerializable(typeof(UsageReport))]
[JsonSerializable(typeof(ProviderStatusList))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;

/// <summary>A provider instance and its circuit on the answering node, for GET /admin/providers.</summary>
internal sealed class ProviderStatusView
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public int MaxConcurrentJobs { get; init; }
    public CircuitView? Circuit { get; init; }
}

/// <summary>A circuit's state: closed, open (until), half_open.</summary>
internal sealed class CircuitView
{
    public required string State { get; init; }
    public int ConsecutiveFailures { get; init; }
    public long? OpenUntil { get; init; }
    public string? LastFailure { get; init; }
}

internal sealed class ProviderStatusList
{
    public string Object => "list";
    public required IReadOnlyList<ProviderStatusView> Data { get; init; }
}

/// <summary>Circuit snapshots as the admin API and the dashboard show them.</summary>
internal static class ProviderStatusWire
{
    public static CircuitView View(Routing.CircuitSnapshot circuit) => new()
    {
        State = Diagnostics.ReelayTelemetry.CircuitStateName(circuit.State),
        ConsecutiveFailures = circuit.ConsecutiveFailures,
        OpenUntil = circuit.OpenUntil?.ToUnixTimeSeconds(),
        LastFailure = circuit.LastFailure,
    };

    /// <summary>One line: "open until 12:00:05Z (5 failures in a row)".</summary>
    public static string Describe(Routing.CircuitSnapshot circuit) => circuit.State switch
    {
        Routing.CircuitState.Open => $"open until {circuit.OpenUntil:HH:mm:ss}Z ({circuit.ConsecutiveFailures} failures in a row)",
        Routing.CircuitState.HalfOpen => "half-open (next submit is a trial)",
        _ => "closed",
    };
}
