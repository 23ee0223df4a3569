namespace Reelay.Accounts;

/// <summary>Where a job's money stands.</summary>
public enum ChargeState
{
    /// <summary>Held against the key's budget while the job runs.</summary>
    Held,

    /// <summary>Charged from what was produced; the rest of the hold returned.</summary>
    Settled,

    /// <summary>Returned in full: the job failed definitely, or was cancelled before an upstream accepted it.</summary>
    Released,

    /// <summary>The job ended but whether the upstream billed is unknown: still held, waiting for an admin to settle or release it.</summary>
    Unresolved,
}

/// <summary>Wire names of <see cref="ChargeState"/>.</summary>
public static class ChargeStateExtensions
{
    /// <summary>held, settled, released, unresolved.</summary>
    public static string ToWire(this ChargeState state) => state switch
    {
        ChargeState.Held => "held",
        ChargeState.Settled => "settled",
        ChargeState.Released => "released",
        ChargeState.Unresolved => "unresolved",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a wire name; null when unknown.</summary>
    public static ChargeState? ParseWire(string? text) => text switch
    {
        "held" => ChargeState.Held,
        "settled" => ChargeState.Settled,
        "released" => ChargeState.Released,
        "unresolved" => ChargeState.Unresolved,
        _ => null,
    };
}

/// <summary>One job's money: the hold taken at submit and how it was closed.</summary>
public sealed record ChargeRecord
{
    /// <summary>The job.</summary>
    public required string JobId { get; init; }

    /// <summary>The key that pays.</summary>
    public required string KeyId { get; init; }

    /// <summary>Public model.</summary>
    public required string Model { get; init; }

    /// <summary>The price tier the job was priced at.</summary>
    public required string Tier { get; init; }

    /// <summary>The price per second locked at submit, micro-USD.</summary>
    public required long PricePerSecondMicros { get; init; }

    /// <summary>Seconds requested.</summary>
    public required int RequestedSeconds { get; init; }

    /// <summary>The amount held at submit.</summary>
    public required long HoldMicros { get; init; }

    /// <summary>Current state.</summary>
    public required ChargeState State { get; init; }

    /// <summary>The amount charged (settled only).</summary>
    public long ChargedMicros { get; init; }

    /// <summary>Seconds of video produced and charged for (settled only).</summary>
    public double ProducedSeconds { get; init; }

    /// <summary>Why it was closed the way it was, or why it is unresolved.</summary>
    public string? Reason { get; init; }

    /// <summary>When the hold was taken.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was settled or released (or marked unresolved).</summary>
    public DateTimeOffset? ClosedAt { get; init; }
}

/// <summary>How to close a held charge.</summary>
/// <param name="State">Settled, Released or Unresolved.</param>
/// <param name="ChargedMicros">For Settled: the amount (at most the hold).</param>
/// <param name="ProducedSeconds">For Settled: seconds produced.</param>
/// <param name="Reason">Why.</param>
public sealed record ChargeClosure(ChargeState State, long ChargedMicros, double ProducedSeconds, string Reason);

/// <summary>Usage of one key on one model.</summary>
public sealed record UsageRow
{
    /// <summary>The key.</summary>
    public required string KeyId { get; init; }

    /// <summary>The key's name.</summary>
    public string? KeyName { get; init; }

    /// <summary>Public model.</summary>
    public required string Model { get; init; }

    /// <summary>Jobs submitted.</summary>
    public long Jobs { get; init; }

    /// <summary>Jobs settled (succeeded and charged).</summary>
    public long Succeeded { get; init; }

    /// <summary>Seconds of video produced.</summary>
    public double Seconds { get; init; }

    /// <summary>Money settled.</summary>
    public long SpentMicros { get; init; }

    /// <summary>Money held now (running jobs and unresolved ones).</summary>
    public long HeldMicros { get; init; }

    /// <summary>Jobs whose charge is unresolved.</summary>
    public long Unresolved { get; init; }
}

/// <summary>Which charges to list.</summary>
public sealed record ChargeQuery
{
    /// <summary>Only this key's.</summary>
    public string? KeyId { get; init; }

    /// <summary>Only in this state.</summary>
    public ChargeState? State { get; init; }

    /// <summary>At most this many, newest first.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>Which usage to sum.</summary>
public sealed record UsageQuery
{
    /// <summary>Only this key's.</summary>
    public string? KeyId { get; init; }

    /// <summary>Jobs submitted at or after.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Jobs submitted before.</summary>
    public DateTimeOffset? Until { get; init; }
}
