namespace Reelay.Server.Events;

/// <summary>Live job event streams (<c>Reelay:Events</c>).</summary>
public sealed class EventsOptions
{
    /// <summary>Streams open at once on this gateway; one more is refused with 429.</summary>
    public int MaxOpenStreams { get; set; } = 1000;

    /// <summary>How often an open stream sends a keep-alive comment.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Changes buffered per stream for a slow reader; when full, the oldest is dropped.</summary>
    public int BufferSize { get; set; } = 32;

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxOpenStreams is < 1 or > 100_000)
        {
            yield return $"Reelay:Events:MaxOpenStreams must be 1 to 100000 (got {MaxOpenStreams}).";
        }

        if (HeartbeatInterval < TimeSpan.FromSeconds(1) || HeartbeatInterval > TimeSpan.FromMinutes(5))
        {
            yield return $"Reelay:Events:HeartbeatInterval must be 1 second to 5 minutes (got {HeartbeatInterval}).";
        }

        if (BufferSize is < 2 or > 1024)
        {
            yield return $"Reelay:Events:BufferSize must be 2 to 1024 (got {BufferSize}).";
        }
    }
}
