namespace Reelay.Cluster;

/// <summary>
/// Per-key submit counts shared by the nodes (<c>SubmitsPerMinute</c> for all nodes together), as a sliding minute of
/// <see cref="SegmentsPerWindow"/> segments: the same window as the in-process limiter that one node uses.
/// </summary>
public interface ISubmitRateCounters
{
    /// <summary>Whether the counts are shared with other nodes (false: the key service counts in process).</summary>
    bool IsShared { get; }

    /// <summary>Counts one submit of <paramref name="keyId"/> at <paramref name="now"/> when its last minute holds fewer than <paramref name="perMinute"/>; false (nothing counted) otherwise. Throws when the store cannot be reached.</summary>
    Task<bool> TryCountAsync(string keyId, int perMinute, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Segments of one minute.</summary>
    public const int SegmentsPerWindow = 12;

    /// <summary>One segment: 5 s.</summary>
    public static readonly TimeSpan Segment = TimeSpan.FromMinutes(1) / SegmentsPerWindow;

    /// <summary>The segment <paramref name="now"/> falls in (5-second steps since the Unix epoch).</summary>
    public static long SegmentOf(DateTimeOffset now) => now.ToUnixTimeMilliseconds() / (long)Segment.TotalMilliseconds;
}

/// <summary>One process: nothing is shared; the key service's in-process limiter counts.</summary>
public sealed class LocalSubmitRateCounters : ISubmitRateCounters
{
    /// <summary>The one instance.</summary>
    public static LocalSubmitRateCounters Instance { get; } = new();

    /// <inheritdoc />
    public bool IsShared => false;

    /// <inheritdoc />
    public Task<bool> TryCountAsync(string keyId, int perMinute, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("In process, the key service counts submits itself.");
}
