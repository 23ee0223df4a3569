using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Accounts;

/// <summary>
/// Closes each job's hold when the job ends: settles it from what was produced, releases it on a definite failure or a
/// cancel no upstream could bill for, or marks it unresolved when whether the upstream billed is unknown. Hears job
/// changes as an <see cref="IJobObserver"/>, and on start-up and every Reelay:Accounts:ReconcileInterval closes
/// whatever a crash left held. Every close is one guarded transaction, so a job's money moves exactly once.
/// </summary>
public sealed partial class Billing : IJobObserver, IHostedService, IDisposable
{
    private readonly IAccountStore _accounts;
    private readonly IJobStore _jobs;
    private readonly Func<string?, bool> _isLocalProvider;
    private readonly ReelayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<string> _finished = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <summary>Creates the service.</summary>
    /// <param name="accounts">The account store.</param>
    /// <param name="jobs">The job store.</param>
    /// <param name="isLocalProvider">Whether a provider instance runs on this machine (nothing upstream can bill for it).</param>
    /// <param name="options">Options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="log">The log.</param>
    public Billing(IAccountStore accounts, IJobStore jobs, Func<string?, bool> isLocalProvider, ReelayOptions options, TimeProvider time, ILogger<Billing> log)
    {
        _accounts = accounts;
        _jobs = jobs;
        _isLocalProvider = isLocalProvider;
        _options = options;
        _time = time;
        _log = log;
    }

    /// <inheritdoc />
    public void OnJobChanged(Job? previous, Job current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (current.Status.IsTerminal() && previous?.Status.IsTerminal() != true)
        {
            _finished.Writer.TryWrite(current.Id);
        }
    }

    /// <summary>How a finished job's hold is closed.</summary>
    public ChargeClosure ClosureFor(Job job, ChargeRecord charge)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(charge);
        switch (job.Status)
        {
            case JobStatus.Succeeded:
                var produced = job.ResultDurationSeconds ?? job.DurationSeconds;
                var seconds = Math.Clamp(produced, 0, charge.RequestedSeconds);
                return new ChargeClosure(ChargeState.Settled, PriceTable.Charge(charge.PricePerSecondMicros, charge.RequestedSeconds, seconds), seconds, $"succeeded: {seconds:0.###} s produced");
            case JobStatus.Failed when job.Error?.Code == ErrorCodes.SubmitOutcomeUnknown:
                return new ChargeClosure(ChargeState.Unresolved, 0, 0, "submit_outcome_unknown: the upstream may have accepted and billed the job");
            case JobStatus.Failed or JobStatus.Cancelled when job.UpstreamId is not null && !_isLocalProvider(job.Provider) && job.Error?.Code is ErrorCodes.Cancelled or ErrorCodes.DeadlineExceeded:
                return new ChargeClosure(ChargeState.Unresolved, 0, 0, $"{job.Error?.Code} after upstream '{job.Provider}' accepted it (task {job.UpstreamId}): the upstream may still bill");
            default:
                return new ChargeClosure(ChargeState.Released, 0, 0, $"{job.Status.ToWire()}: {job.Error?.Code ?? "no charge"}");
        }
    }

    /// <summary>Closes one job's hold if it is held and the job has ended; returns whether this call closed it.</summary>
    public async Task<bool> CloseAsync(string jobId, CancellationToken cancellationToken)
    {
        var charge = await _accounts.GetChargeAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (charge is null || charge.State != ChargeState.Held)
        {
            return false;
        }

        var job = await _jobs.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
        ChargeClosure closure;
        if (job is null)
        {
            closure = new ChargeClosure(ChargeState.Released, 0, 0, "the job no longer exists");
        }
        else if (!job.Status.IsTerminal())
        {
            return false;
        }
        else
        {
            closure = ClosureFor(job, charge);
        }

        var closed = await _accounts.CloseChargeAsync(jobId, closure, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        ReelayTelemetry.MoneySettledAdded(closed && closure.State == ChargeState.Settled ? Math.Clamp(closure.ChargedMicros, 0, charge.HoldMicros) : 0, charge.Model);
        if (closed && closure.State == ChargeState.Unresolved)
        {
            Log.Unresolved(_log, jobId, charge.KeyId, Money.Format(charge.HoldMicros), closure.Reason);
        }

        return closed;
    }

    /// <summary>Closes every held charge whose job has ended; returns how many this call closed.</summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var closed = 0;
        while (true)
        {
            var ids = await _accounts.ListHeldChargesOfFinishedJobsAsync(200, cancellationToken).ConfigureAwait(false);
            var progress = 0;
            foreach (var id in ids)
            {
                if (await CloseAsync(id, cancellationToken).ConfigureAwait(false))
                {
                    progress++;
                }
            }

            closed += progress;
            if (ids.Count < 200 || progress == 0)
            {
                return closed;
            }
        }
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var repaired = await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        if (repaired > 0)
        {
            Log.Repaired(_log, repaired);
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _finished.Writer.TryComplete();
        if (_loop is null)
        {
            return;
        }

        // Drain what is queued; a crash instead leaves it to the next start's reconciliation.
        await Task.WhenAny(_loop, Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken)).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task RunAsync(CancellationToken stopping)
    {
        var reader = _finished.Reader;
        var nextSweep = _time.GetUtcNow() + _options.Accounts.ReconcileInterval;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var wait = nextSweep - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    timeout.CancelAfter(wait);
                    try
                    {
                        if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                        {
                            return;
                        }
                    }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                    {
                    }
                }

                while (reader.TryRead(out var id))
                {
                    await CloseAsync(id, stopping).ConfigureAwait(false);
                }

                if (_time.GetUtcNow() >= nextSweep)
                {
                    await ReconcileAsync(stopping).ConfigureAwait(false);
                    await _accounts.PurgeIdempotencyAsync(_time.GetUtcNow() - _options.Accounts.IdempotencyRetention, stopping).ConfigureAwait(false);
                    nextSweep = _time.GetUtcNow() + _options.Accounts.ReconcileInterval;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must survive a failed database call; the next sweep retries.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.Failed(_log, ex);
                nextSweep = _time.GetUtcNow() + TimeSpan.FromSeconds(1);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEventIds.Billing + 1, Level = LogLevel.Warning, Message = "The charge of job {JobId} (key {KeyId}, {Amount} held) is unresolved: {Reason}. Settle or release it with reelay charges.")]
        public static partial void Unresolved(ILogger logger, string jobId, string keyId, string amount, string reason);

        [LoggerMessage(EventId = LogEventIds.Billing + 2, Level = LogLevel.Information, Message = "Closed {Count} charges of jobs that finished before the last stop.")]
        public static partial void Repaired(ILogger logger, int count);

        [LoggerMessage(EventId = LogEventIds.Billing + 3, Level = LogLevel.Error, Message = "Closing charges failed; retrying shortly.")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
