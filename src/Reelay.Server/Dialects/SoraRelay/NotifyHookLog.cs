using Microsoft.Extensions.Logging;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>notify_hook events. Only the receiver's host is logged: a hook URL's path and query may carry secrets.</summary>
internal static partial class NotifyHookLog
{
    [LoggerMessage(2200, LogLevel.Debug, "notify_hook of task {TaskId} ({Status}) delivered to {Host} on attempt {Attempt}")]
    public static partial void Delivered(ILogger logger, string taskId, string status, string host, int attempt);

    [LoggerMessage(2201, LogLevel.Information, "notify_hook of task {TaskId} ({Status}) to {Host} failed on attempt {Attempt} ({Reason}); retrying in {Delay}")]
    public static partial void Retrying(ILogger logger, string taskId, string status, string host, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(2202, LogLevel.Warning, "notify_hook of task {TaskId} ({Status}) to {Host} given up after {Attempts} attempts: {Reason}")]
    public static partial void GivenUp(ILogger logger, string taskId, string status, string host, int attempts, string reason);

    [LoggerMessage(2203, LogLevel.Information, "notify_hook of task {TaskId} ({Status}) to {Host} not retried after {Attempts} attempts: the task changed again and the newer state is sent instead")]
    public static partial void Superseded(ILogger logger, string taskId, string status, string host, int attempts);

    [LoggerMessage(2204, LogLevel.Error, "notify_hook dispatcher error for task {TaskId}")]
    public static partial void DispatcherError(ILogger logger, Exception exception, string taskId);
}
