namespace Reelay.Server.Hosting;

/// <summary>Reelay:Shutdown: how a stopping gateway (SIGTERM, Ctrl+C) drains before it exits.</summary>
public sealed class ShutdownOptions
{
    /// <summary>The longest time a stopping gateway waits for in-flight local renders and webhook attempts (default 25 s, 0 to 1 hour).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Every problem with the settings, each naming its key.</summary>
    public IEnumerable<string> Validate()
    {
        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromHours(1))
        {
            yield return $"Reelay:Shutdown:DrainTimeout must be 0 to 1 hour (got {DrainTimeout}).";
        }
    }
}
