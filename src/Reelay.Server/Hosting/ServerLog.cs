using Microsoft.Extensions.Logging;

namespace Reelay.Server.Hosting;

internal static partial class ServerLog
{
    [LoggerMessage(2000, LogLevel.Error, "Unhandled error in {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(2001, LogLevel.Information, "Reelay is listening on {Addresses} (data folder {DataFolder})")]
    public static partial void Listening(ILogger logger, string addresses, string dataFolder);
}
