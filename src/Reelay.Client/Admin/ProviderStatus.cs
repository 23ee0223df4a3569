namespace Reelay.Client.Admin;

/// <summary>A provider instance as <c>GET /admin/providers</c> shows it, with its circuit on the node that answered.</summary>
public sealed class ProviderStatus
{
    /// <summary>The instance name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The adapter type ("sandbox" for the built-in renderer).</summary>
    public string Type { get; init; } = "";

    /// <summary>Jobs the instance may have in flight at once.</summary>
    public int MaxConcurrentJobs { get; init; }

    /// <summary>Its circuit, or null (the sandbox, or the circuit turned off).</summary>
    public ProviderCircuit? Circuit { get; init; }
}

/// <summary>A provider instance's circuit on one gateway node.</summary>
public sealed class ProviderCircuit
{
    /// <summary>closed, open (routing skips the instance until <see cref="OpenUntil"/>) or half_open (the next submit is a trial).</summary>
    public string State { get; init; } = "";

    /// <summary>Submits that failed in a row.</summary>
    public int ConsecutiveFailures { get; init; }

    /// <summary>Unix seconds when an open circuit's break ends.</summary>
    public long? OpenUntil { get; init; }

    /// <summary>The error code and message of the last counted failure.</summary>
    public string? LastFailure { get; init; }
}
