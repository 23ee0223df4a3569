using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Cluster;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Dialects;

namespace Reelay.Server.Events;

/// <summary>
/// Synchronous waits on submit, for every dialect: a request with <c>Prefer: wait=N</c> (RFC 7240) is answered when its
/// job finishes or after N seconds (at most <see cref="ReelayServerOptions.MaxPreferWait"/>), whichever comes first, with
/// <c>Preference-Applied: wait=N</c>. The wait listens to the job's changes on the <see cref="JobEventHub"/> and, with
/// several nodes, to the cluster's job-change signals, so it also ends when another node finishes the job; it never polls
/// the store in a loop.
/// </summary>
internal static class PreferWait
{
    /// <summary>The seconds a request asks to wait, capped; null when it does not ask (or the cap is 0).</summary>
    public static int? Requested(HttpRequest request, TimeSpan max)
    {
        ArgumentNullException.ThrowIfNull(request);
        var asked = Parse(request.Headers["Prefer"]);
        if (asked is null || max <= TimeSpan.Zero)
        {
            return null;
        }

        return (int)Math.Min(asked.Value, (long)max.TotalSeconds);
    }

    /// <summary>
    /// The wait preference of Prefer header values: the first <c>wait=N</c> (N a non-negative whole number of seconds,
    /// optionally quoted). RFC 7240 says a preference that is not understood is ignored, so a malformed one is null.
    /// Hand-written: ASP.NET Core has no Prefer parser, and the grammar needed here is a comma and semicolon split.
    /// </summary>
    internal static long? Parse(IEnumerable<string?> values)
    {
        foreach (var value in values)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            foreach (var preference in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // Parameters after ';' belong to the preference; "wait" takes none.
                var head = preference.Split(';', 2)[0];
                var eq = head.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0 || !head.AsSpan(0, eq).Trim().Equals("wait", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var text = head[(eq + 1)..].Trim();
                if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
                {
                    text = text[1..^1];
                }

                return text.Length is > 0 and <= 9 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;
            }
        }

        return null;
    }

    /// <summary>
    /// When the request asks to wait: holds it until <paramref name="job"/> finishes or the wait ends, and returns the job as
    /// it is then (setting Preference-Applied). Otherwise returns <paramref name="job"/> unchanged.
    /// </summary>
    public static async Task<Job> ApplyAsync(HttpContext context, Job job)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(job);
        var services = context.RequestServices;
        var seconds = Requested(context.Request, services.GetRequiredService<ReelayServerOptions>().MaxPreferWait);
        if (seconds is null)
        {
            return job;
        }

        context.Response.Headers["Preference-Applied"] = "wait=" + seconds.Value.ToString(CultureInfo.InvariantCulture);
        if (job.Status.IsTerminal() || seconds.Value == 0)
        {
            return job;
        }

        var engine = services.GetRequiredService<JobEngine>();
        var caller = DialectFilter.CallerOf(context);
        using var subscription = services.GetRequiredService<JobEventHub>().TrySubscribe(job.Id);
        if (subscription is null)
        {
            // Every stream slot is taken: answer now rather than hold a request that would hear nothing.
            context.Response.Headers.Remove("Preference-Applied");
            return job;
        }

        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds.Value), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.RequestAborted);

        // Another node may finish the job: its change arrives as a cluster signal (id and version), and a lost signal
        // connection may have dropped some (resynchronize). Either makes the wait read the job again.
        using var remote = new RemoteNudges(job.Id, services.GetService<ClusterJobChanges>(), services.GetService<IClusterSignals>());

        // Subscribed first, then read: a change stored in between is in the channel (or nudges a read).
        var current = await engine.GetAsync(job.Id, caller, context.RequestAborted).ConfigureAwait(false);
        try
        {
            Task<bool>? heard = null;
            while (!current.Status.IsTerminal())
            {
                if (subscription.Reader.TryRead(out var changed))
                {
                    current = changed.Version > current.Version ? changed : current;
                    continue;
                }

                var nudged = remote.Arm();
                if (remote.TakeNudge())
                {
                    Job read;
                    try
                    {
                        read = await engine.GetAsync(job.Id, caller, linked.Token).ConfigureAwait(false);
                    }
                    catch (ReelayException)
                    {
                        break; // Deleted through another node meanwhile: answer with what is known.
                    }

                    current = read.Version > current.Version ? read : current;
                    continue;
                }

                heard ??= subscription.Reader.WaitToReadAsync(linked.Token).AsTask();
                await Task.WhenAny(heard, nudged).WaitAsync(linked.Token).ConfigureAwait(false);
                if (heard.IsCompleted)
                {
                    if (!await heard.ConfigureAwait(false))
                    {
                        break; // The hub closed the subscription.
                    }

                    heard = null;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
        }

        return current;
    }

    /// <summary>
    /// Hears, for one waiting request, that another node changed its job (<see cref="ClusterJobChanges.RemoteChanged"/>) or
    /// that signals may have been missed (<see cref="IClusterSignals.Resynchronize"/>). On one process neither happens.
    /// </summary>
    private sealed class RemoteNudges : IDisposable
    {
        private readonly string _jobId;
        private readonly ClusterJobChanges? _changes;
        private readonly IClusterSignals? _signals;
        private TaskCompletionSource _armed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _pending;

        public RemoteNudges(string jobId, ClusterJobChanges? changes, IClusterSignals? signals)
        {
            _jobId = jobId;
            _changes = changes;
            _signals = signals;
            if (_changes is not null)
            {
                _changes.RemoteChanged += OnRemoteChanged;
            }

            if (_signals is not null)
            {
                _signals.Resynchronize += Nudge;
            }
        }

        /// <summary>A task that completes at the next nudge (a fresh one once the last has completed).</summary>
        public Task Arm()
        {
            var armed = Volatile.Read(ref _armed);
            if (armed.Task.IsCompleted)
            {
                Interlocked.CompareExchange(ref _armed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), armed);
            }

            return Volatile.Read(ref _armed).Task;
        }

        /// <summary>Whether a nudge came since the last call (then the job must be read again).</summary>
        public bool TakeNudge() => Interlocked.Exchange(ref _pending, 0) == 1;

        private void OnRemoteChanged(string jobId, long version)
        {
            if (string.Equals(jobId, _jobId, StringComparison.Ordinal))
            {
                Nudge();
            }
        }

        private void Nudge()
        {
            Volatile.Write(ref _pending, 1);
            Volatile.Read(ref _armed).TrySetResult();
        }

        public void Dispose()
        {
            if (_changes is not null)
            {
                _changes.RemoteChanged -= OnRemoteChanged;
            }

            if (_signals is not null)
            {
                _signals.Resynchronize -= Nudge;
            }
        }
    }
}
