using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Server.Events;

internal static partial class EventsLog
{
    [LoggerMessage(LogEventIds.Events + 0, LogLevel.Debug, "Event stream for {JobId} opened ({Open} open)")]
    public static partial void Opened(ILogger logger, string jobId, int open);

    [LoggerMessage(LogEventIds.Events + 1, LogLevel.Debug, "Event stream for {JobId} closed after {Events} events: {Reason}")]
    public static partial void Closed(ILogger logger, string jobId, int events, string reason);

    [LoggerMessage(LogEventIds.Events + 2, LogLevel.Warning, "Event stream for {JobId} refused: {Max} streams are open (Reelay:Events:MaxOpenStreams)")]
    public static partial void Refused(ILogger logger, string jobId, int max);
}
