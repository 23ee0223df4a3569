using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Server.Hosting;

internal static partial class ShutdownLog
{
    [LoggerMessage(LogEventIds.Server + 40, LogLevel.Information, "Stopping: readiness is down and submits are refused; draining for up to {DrainSeconds} s")]
    public static partial void DrainStarted(ILogger logger, double drainSeconds);

    [LoggerMessage(LogEventIds.Server + 41, LogLevel.Information, "Drained in {Seconds:0.0} s: {Renders} local renders finished, no webhook attempt in flight")]
    public static partial void Drained(ILogger logger, double seconds, int renders);

    [LoggerMessage(LogEventIds.Server + 42, LogLevel.Warning, "Drain time ran out after {Seconds:0.0} s: {Finished} of {Renders} local renders finished; {Left} renders and {Deliveries} webhook attempts are left for recovery at the next start")]
    public static partial void DrainTimedOut(ILogger logger, double seconds, int finished, int renders, int left, int deliveries);

    [LoggerMessage(LogEventIds.Server + 43, LogLevel.Warning, "The drain stopped early; what is in flight is left for recovery at the next start")]
    public static partial void DrainFailed(ILogger logger, Exception exception);
}
