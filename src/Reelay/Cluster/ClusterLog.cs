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
}
