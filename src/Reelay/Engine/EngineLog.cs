using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;

namespace Reelay.Engine;

internal static partial class EngineLog
{
    [LoggerMessage(LogEventIds.Engine + 0, LogLevel.Information, "Job {JobId} queued for {Provider} (model {Model})")]
    public static partial void JobQueued(ILogger logger, string jobId, string provider, string model);

    [LoggerMessage(LogEventIds.Engine + 1, LogLevel.Information, "Job {JobId} accepted by {Provider} as {UpstreamId}")]
    public static partial void JobAccepted(ILogger logger, string jobId, string provider, string upstreamId);

    [LoggerMessage(LogEventIds.Engine + 2, LogLevel.Information, "Job {JobId} succeeded ({Bytes} bytes, {Duration:0.##} s)")]
    public static partial void JobSucceeded(ILogger logger, string jobId, long bytes, double duration);

    [LoggerMessage(LogEventIds.Engine + 3, LogLevel.Warning, "Job {JobId} failed: {Code}: {Message}")]
    public static partial void JobFailed(ILogger logger, string jobId, string code, string message);

    [LoggerMessage(LogEventIds.Engine + 4, LogLevel.Information, "Job {JobId} cancelled")]
    public static partial void JobCancelled(ILogger logger, string jobId);

    [LoggerMessage(LogEventIds.Engine + 5, LogLevel.Warning, "Submit of job {JobId} to {Provider} will be retried in {Delay}: {Reason}")]
    public static partial void SubmitRetry(ILogger logger, string jobId, string provider, TimeSpan delay, string reason);

    [LoggerMessage(LogEventIds.Engine + 6, LogLevel.Debug, "Poll of job {JobId} will be retried in {Delay}: {Reason}")]
    public static partial void PollRetry(ILogger logger, string jobId, TimeSpan delay, string reason);

    [LoggerMessage(LogEventIds.Engine + 7, LogLevel.Error, "Provider {Provider} threw during {Operation} of job {JobId}")]
    public static partial void ProviderThrew(ILogger logger, Exception exception, string provider, string operation, string jobId);

    [LoggerMessage(LogEventIds.Engine + 8, LogLevel.Information, "Recovered {Count} unfinished jobs after start-up ({Queued} queued, {Submitting} submitting, {Running} running)")]
    public static partial void Recovered(ILogger logger, int count, int queued, int submitting, int running);

    [LoggerMessage(LogEventIds.Engine + 9, LogLevel.Warning, "Job {JobId} was caught in submitting by a restart; {Provider} answered {Outcome}")]
    public static partial void RecoveredSubmitting(ILogger logger, string jobId, string provider, string outcome);

    [LoggerMessage(LogEventIds.Engine + 10, LogLevel.Error, "Engine error while handling job {JobId}")]
    public static partial void EngineError(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(LogEventIds.Engine + 11, LogLevel.Error, "Storing the result of job {JobId} failed; it will be tried again")]
    public static partial void FinalizeFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(LogEventIds.Engine + 12, LogLevel.Warning, "Job {JobId} missed its deadline")]
    public static partial void DeadlineExceeded(ILogger logger, string jobId);

    [LoggerMessage(LogEventIds.Engine + 13, LogLevel.Warning, "Job {JobId}: provider {From} did not accept it ({Code}); failing over to {To}")]
    public static partial void FailedOver(ILogger logger, string jobId, string from, string to, string code);

    [LoggerMessage(LogEventIds.Engine + 14, LogLevel.Warning, "Job {JobId} was caught in submitting by a restart and goes back to the {Provider} queue: {Reason}")]
    public static partial void RequeuedAfterRestart(ILogger logger, string jobId, string provider, string reason);

    [LoggerMessage(LogEventIds.Engine + 15, LogLevel.Warning, "Job {JobId}: making the spritesheet failed; the job succeeds without one")]
    public static partial void SpritesheetFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(LogEventIds.Engine + 16, LogLevel.Error, "Renewing or taking job claims failed; the next round tries again")]
    public static partial void ClaimLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(LogEventIds.Engine + 30, LogLevel.Information, "Node {NodeId} gave up its job claims on stopping; the other nodes take its jobs over")]
    public static partial void HandedOver(ILogger logger, string nodeId);
}
