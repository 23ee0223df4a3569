using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Cluster;

internal static partial class ClusterLog
{
    [LoggerMessage(LogEventIds.Cluster + 1, LogLevel.Warning, "Node {NodeId}: listening for cluster signals failed ({Failures} in a row); reconnecting")]
    public static partial void ListenFailed(ILogger logger, Exception exception, string nodeId, int failures);

    [LoggerMessage(LogEventIds.Cluster + 2, LogLevel.Information, "Node {NodeId}: listening for cluster signals again; signals sent meanwhile were missed, so caches are dropped and a claim round runs")]
    public static partial void Reconnected(ILogger logger, string nodeId);

    [LoggerMessage(LogEventIds.Cluster + 3, LogLevel.Warning, "Sending {Count} cluster signals failed; the other nodes catch up through their claim loops")]
    public static partial void PublishFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(LogEventIds.Cluster + 10, LogLevel.Warning, "The shared rate bucket {Bucket} cannot be reached ({ErrorType}); using this node's local share of {Share:0.##} requests per second ({Nodes} nodes) until it answers again")]
    public static partial void RateBucketLost(ILogger logger, string errorType, string bucket, double share, int nodes);

    [LoggerMessage(LogEventIds.Cluster + 11, LogLevel.Information, "The shared rate bucket {Bucket} answers again; the local share is dropped")]
    public static partial void RateBucketBack(ILogger logger, string bucket);

    [LoggerMessage(LogEventIds.Cluster + 12, LogLevel.Warning, "The shared submit counters cannot be reached ({ErrorType}); this node counts per-key submit rates on its own until they answer again")]
    public static partial void SubmitRateLost(ILogger logger, string errorType);

    [LoggerMessage(LogEventIds.Cluster + 13, LogLevel.Information, "The shared submit counters answer again")]
    public static partial void SubmitRateBack(ILogger logger);
}
