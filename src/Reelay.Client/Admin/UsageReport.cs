using System.Text.Json.Serialization;
using Reelay.Client.Serialization;

namespace Reelay.Client.Admin;

/// <summary>Usage per key and model over a period (<c>/admin/usage</c> and <c>/v1/usage</c>), with totals.</summary>
public sealed class UsageReport
{
    /// <summary>Always <c>usage</c>.</summary>
    public string Object { get; init; } = "usage";

    /// <summary>The start of the period, or null for the beginning.</summary>
    [JsonConverter(typeof(NullableUnixSecondsConverter))]
    public DateTimeOffset? Since { get; init; }

    /// <summary>The end of the period, or null for now.</summary>
    [JsonConverter(typeof(NullableUnixSecondsConverter))]
    public DateTimeOffset? Until { get; init; }

    /// <summary>One row per key and model.</summary>
    public IReadOnlyList<UsageRow> Data { get; init; } = [];

    /// <summary>Jobs in the period.</summary>
    public long Jobs { get; init; }

    /// <summary>Seconds of video produced.</summary>
    public double Seconds { get; init; }

    /// <summary>Settled spend, in USD.</summary>
    public decimal SpentUsd { get; init; }

    /// <summary>Money still held, in USD.</summary>
    public decimal HeldUsd { get; init; }

    /// <summary>In <see cref="ReelayClient.GetOwnUsageAsync"/>'s answer: the caller's key with its budget and balance; otherwise null.</summary>
    public ApiKey? Key { get; init; }
}

/// <summary>One key's usage of one model.</summary>
public sealed class UsageRow
{
    /// <summary>The key's id.</summary>
    public string KeyId { get; init; } = "";

    /// <summary>The key's name, or null when the key is gone.</summary>
    public string? KeyName { get; init; }

    /// <summary>The public model name.</summary>
    public string Model { get; init; } = "";

    /// <summary>Jobs submitted.</summary>
    public long Jobs { get; init; }

    /// <summary>Jobs that completed.</summary>
    public long Succeeded { get; init; }

    /// <summary>Seconds of video produced.</summary>
    public double Seconds { get; init; }

    /// <summary>Settled spend, in USD.</summary>
    public decimal SpentUsd { get; init; }

    /// <summary>Money still held, in USD.</summary>
    public decimal HeldUsd { get; init; }

    /// <summary>Charges whose outcome is unknown and wait for an admin.</summary>
    public long Unresolved { get; init; }
}
