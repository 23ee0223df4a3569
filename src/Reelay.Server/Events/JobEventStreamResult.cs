using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reelay.Jobs;

namespace Reelay.Server.Events;

/// <summary>How a dialect names and renders a job's events.</summary>
internal interface IJobEventFormat
{
    /// <summary>The event for <paramref name="current"/>, given the last one seen (null: the first event); null to send nothing.</summary>
    string? EventName(Job? previous, Job current);

    /// <summary>The event's data: one line of UTF-8 JSON.</summary>
    byte[] Render(Job job);
}

/// <summary>
/// Streams a job's events: the current state first (unless the client already has it, by Last-Event-ID), then one per
/// change heard through the subscription, deduplicated by the job's version, until the terminal event, the client
/// leaving, or the server stopping. A heartbeat comment goes out every <see cref="EventsOptions.HeartbeatInterval"/>.
/// </summary>
internal sealed class JobEventStreamResult(JobEventHub.Subscription subscription, Job current, long? lastEventId, IJobEventFormat format) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var owned = subscription;
        var services = httpContext.RequestServices;
        var options = services.GetRequiredService<ReelayServerOptions>().Events;
        var time = services.GetRequiredService<TimeProvider>();
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay.Server.Events");
        var hub = services.GetRequiredService<JobEventHub>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, stopping);
        var token = linked.Token;
        var writer = new SseWriter(httpContext.Response);
        var sent = 0;
        var reason = "terminal event sent";
        EventsLog.Opened(logger, current.Id, hub.OpenSubscriptions);
        try
        {
            await writer.StartAsync(TimeSpan.FromSeconds(3), token).ConfigureAwait(false);
            var last = current;
            if (lastEventId is not { } seen || current.Version > seen)
            {
                await writer.WriteEventAsync(format.EventName(null, current)!, current.Version, format.Render(current), token).ConfigureAwait(false);
                sent++;
            }

            if (IsFinal(current))
            {
                return;
            }

            using var heartbeat = new PeriodicTimer(options.HeartbeatInterval, time);
            Task<bool>? changed = null;
            Task<bool>? tick = null;
            while (true)
            {
                changed ??= subscription.Reader.WaitToReadAsync(token).AsTask();
                tick ??= heartbeat.WaitForNextTickAsync(token).AsTask();
                var done = await Task.WhenAny(changed, tick).ConfigureAwait(false);
                if (done == tick)
                {
                    tick = null;
                    await done.ConfigureAwait(false);
                    await writer.WriteHeartbeatAsync(token).ConfigureAwait(false);
                    continue;
                }

                changed = null;
                if (!await done.ConfigureAwait(false))
                {
                    reason = "unsubscribed";
                    return;
                }

                while (subscription.Reader.TryRead(out var job))
                {
                    if (job.Version <= last.Version)
                    {
                        continue;
                    }

                    var name = format.EventName(last, job);
                    last = job;
                    if (name is not null)
                    {
                        await writer.WriteEventAsync(name, job.Version, format.Render(job), token).ConfigureAwait(false);
                        sent++;
                    }

                    if (IsFinal(job))
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            reason = stopping.IsCancellationRequested ? "server stopping" : "client disconnected";
        }
        catch (IOException)
        {
            reason = "client disconnected";
        }
        finally
        {
            EventsLog.Closed(logger, current.Id, sent, reason);
        }
    }

    private static bool IsFinal(Job job) => job.Status.IsTerminal() || job.DeletedAt is not null;
}
