using Microsoft.Extensions.Logging;

namespace Reelay.Engine;

internal static partial class EngineLog
{
    [LoggerMessage(1000, LogLevel.Information, "Job {JobId} queued for {Provider} (model {Model})")]
    public static partial void JobQueued(ILogger logger, string jobId, string provider, string model);

    [LoggerMessage(1001, LogLevel.Information, "Job {JobId} accepted by {Provider} as {UpstreamId}")]
    public static partial void JobAccepted(ILogger logger, string jobId, string provider, string upstreamId);

    [LoggerMessage(1002, LogLevel.Information, "Job {JobId} succeeded ({Bytes} bytes, {Duration:0.##} s)")]
    public static partial void JobSucceeded(ILogger logger, string jobId, long bytes, double duration);

    [LoggerMessage(1003, LogLevel.Warning, "Job {JobId} failed: {Code}: {Message}")]
    public static partial void JobFailed(ILogger logger, string jobId, string code, string message);

    [LoggerMessage(1004, LogLevel.Information, "Job {JobId} cancelled")]
    public static partial void JobCancelled(ILogger logger, string jobId);

    [LoggerMessage(1005, LogLevel.Warning, "Submit of job {JobId} to {Provider} will be retried in {Delay}: {Reason}")]
    public static partial void SubmitRetry(ILogger logger, string jobId, string provider, TimeSpan delay, string reason);

    [LoggerMessage(1006, LogLevel.Debug, "Poll of job {JobId} will be retried in {Delay}: {Reason}")]
    public static partial void PollRetry(ILogger logger, string jobId, TimeSpan delay, string reason);

    [LoggerMessage(1007, LogLevel.Error, "Provider {Provider} threw during {Operation} of job {JobId}")]
    public static partial void ProviderThrew(ILogger logger, Exception exception, string provider, string operation, string jobId);

    [LoggerMessage(1008, LogLevel.Information, "Recovered {Count} unfinished jobs after start-up ({Queued} queued, {Submitting} submitting, {Running} running)")]
    public static partial void Recovered(ILogger logger, int count, int queued, int submitting, int running);

    [LoggerMessage(1009, LogLevel.Warning, "Job {JobId} was caught in submitting by a restart; {Provider} answered {Outcome}")]
    public static partial void RecoveredSubmitting(ILogger logger, string jobId, string provider, string outcome);

    [LoggerMessage(1010, LogLevel.Error, "Engine error while handling job {JobId}")]
    public static partial void EngineError(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(1011, LogLevel.Error, "Storing the result of job {JobId} failed; it will be tried again")]
    public static partial void FinalizeFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(1012, LogLevel.Warning, "Job {JobId} missed its deadline")]
    public static partial void DeadlineExceeded(ILogger logger, string jobId);

    [LoggerMessage(1013, LogLevel.Warning, "Job {JobId}: provider {From} did not accept it ({Code}); failing over to {To}")]
    public static partial void FailedOver(ILogger logger, string jobId, string from, string to, string code);

    [LoggerMessage(1014, LogLevel.Warning, "Job {JobId} was caught in submitting by a restart and goes back to the {Provider} queue: {Reason}")]
    public static partial void RequeuedAfterRestart(ILogger logger, string jobId, string provider, string reason);

    // 4600-4699: result storage.
    [LoggerMessage(4610, LogLevel.Warning, "Job {JobId}: making the spritesheet failed; the job succeeds without one")]
    public static partial void SpritesheetFailed(ILogger logger, Exception exception, string jobId);
}
