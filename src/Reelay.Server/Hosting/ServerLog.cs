using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Server.Hosting;

internal static partial class ServerLog
{
    [LoggerMessage(LogEventIds.Server + 0, LogLevel.Error, "Unhandled error in {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(LogEventIds.Server + 1, LogLevel.Information, "Reelay is listening on {Addresses} (data folder {DataFolder})")]
    public static partial void Listening(ILogger logger, string addresses, string dataFolder);

    [LoggerMessage(LogEventIds.Server + 2, LogLevel.Warning, "The job store is unavailable; answered {Method} {Path} with 503")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string method, string path);
}
