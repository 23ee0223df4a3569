using Microsoft.Extensions.Logging;

namespace Reelay.Server.Events;

internal static partial class EventsLog
{
    [LoggerMessage(2300, LogLevel.Debug, "Event stream for {JobId} opened ({Open} open)")]
    public static partial void Opened(ILogger logger, string jobId, int open);

    [LoggerMessage(2301, LogLevel.Debug, "Event stream for {JobId} closed after {Events} events: {Reason}")]
    public static partial void Closed(ILogger logger, string jobId, int events, string reason);

    [LoggerMessage(2302, LogLevel.Warning, "Event stream for {JobId} refused: {Max} streams are open (Reelay:Events:MaxOpenStreams)")]
    public static partial void Refused(ILogger logger, string jobId, int max);
}
