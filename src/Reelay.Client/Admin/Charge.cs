using System.Text.Json.Serialization;
using Reelay.Client.Serialization;

namespace Reelay.Client.Admin;

/// <summary>The states of a <see cref="Charge"/>, as the server writes them.</summary>
public static class ChargeState
{
    /// <summary>Money is held while the job runs; it closes by itself when the job ends.</summary>
    public const string Held = "held";

    /// <summary>Closed: <see cref="Charge.ChargedUsd"/> was spent.</summary>
    public const string Settled = "settled";

    /// <summary>Closed: nothing was spent and the hold was returned.</summary>
    public const string Released = "released";

    /// <summary>The job's outcome upstream is unknown; the hold stays until an admin settles or releases it.</summary>
    public const string Unresolved = "unresolved";
}

/// <summary>The money side of one job (<c>/admin/charges</c>): a hold at submit, closed exactly once.</summary>
public sealed class Charge
{
    /// <summary>The job's id.</summary>
    public string JobId { get; init; } = "";

    /// <summary>Always <c>charge</c>.</summary>
    public string Object { get; init; } = "charge";

    /// <summary>The id of the key that submitted the job.</summary>
    public string KeyId { get; init; } = "";

    /// <summary>The public model name.</summary>
    public string Model { get; init; } = "";

    /// <summary>The price tier the job fell into.</summary>
    public string Tier { get; init; } = "";

    /// <summary>The price per second of video, in USD.</summary>
    public decimal PricePerSecondUsd { get; init; }

    /// <summary>The seconds of video the job asked for.</summary>
    public int RequestedSeconds { get; init; }

    /// <summary>What was held at submit, in USD.</summary>
    public decimal HeldUsd { get; init; }

    /// <summary>One of the <see cref="ChargeState"/> values.</summary>
    public string State { get; init; } = "";

    /// <summary>What was spent, in USD (0 until settled).</summary>
    public decimal ChargedUsd { get; init; }

    /// <summary>The seconds of video produced.</summary>
    public double ProducedSeconds { get; init; }

    /// <summary>Why the charge closed as it did, or null.</summary>
    public string? Reason { get; init; }

    /// <summary>When the hold was taken.</summary>
    [JsonConverter(typeof(UnixSecondsConverter))]
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the charge closed, or null while it is held or unresolved.</summary>
    [JsonConverter(typeof(NullableUnixSecondsConverter))]
    public DateTimeOffset? ClosedAt { get; init; }
}
