using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Reelay.Accounts;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Content;
using Reelay.Server.Dashboard.Pages;
using Reelay.Server.Events;
using Reelay.Webhooks;

namespace Reelay.Server.Dashboard;

internal static partial class DashboardEndpoints
{
    /// <summary>How many jobs one dashboard event stream follows at most (a page of the list).</summary>
    public const int MaxStreamedJobs = 100;

    static partial void MapJobRoutes(RouteGroupBuilder group)
    {
        group.MapGet("/jobs/{id}", JobPage);
        group.MapPost("/jobs/{id}/cancel", CancelJob).AddEndpointFilter(RequireAntiforgery);
        group.MapPost("/jobs/{id}/delete", DeleteJob).AddEndpointFilter(RequireAntiforgery);
        group.MapMethods("/jobs/{id}/{variant:regex(^(video|thumbnail|spritesheet)$)}", ContentResults.Methods, Content);
        group.MapGet("/events", Events);
    }

    private static async Task<IResult> JobPage(string id, HttpContext context, JobEngine engine, IAccountStore accounts, IWebhookStore webhooks, TimeProvider time, ReelayOptions options)
    {
        var caller = CallerOf(context);
        try
        {
            var job = await engine.GetAsync(id, caller, context.RequestAborted).ConfigureAwait(false);
            var view = new JobView(
                job,
                await accounts.GetChargeAsync(job.Id, context.RequestAborted).ConfigureAwait(false),
                await webhooks.ListForJobAsync(job.Id, context.RequestAborted).ConfigureAwait(false),
                engine.QueuePosition(job),
                time.GetUtcNow(),
                options.Storage.Thumbnails);
            return Render<JobPage>(context, caller, "Job " + job.Id, "jobs", new() { ["View"] = view });
        }
        catch (ReelayException ex)
        {
            return Error(context, caller, ex.HttpStatus, ex.Error.Message);
        }
    }

    private static Task<IResult> CancelJob(string id, HttpContext context, JobEngine engine) =>
        ActOnJobAsync(context, caller => engine.CancelAsync(id, caller, context.RequestAborted), $"/dashboard/jobs/{Uri.EscapeDataString(id)}");

    private static Task<IResult> DeleteJob(string id, HttpContext context, JobEngine engine) =>
        ActOnJobAsync(context, caller => engine.DeleteAsync(id, caller, context.RequestAborted), "/dashboard/jobs");

    /// <summary>A form's action on one job: redirects to <paramref name="then"/>, or renders the refusal as the dashboard's error page.</summary>
    private static async Task<IResult> ActOnJobAsync(HttpContext context, Func<Caller, Task> action, string then)
    {
        var caller = CallerOf(context);
        try
        {
            await action(caller).ConfigureAwait(false);
            return TypedResults.Redirect(then);
        }
        catch (ReelayException ex)
        {
            return Error(context, caller, ex.HttpStatus, ex.Error.Message);
        }
    }

    private static async Task<IResult> Content(string id, string variant, HttpContext context, JobEngine engine)
    {
        var caller = CallerOf(context);
        var which = variant switch
        {
            "thumbnail" => ContentVariant.Thumbnail,
            "spritesheet" => ContentVariant.Spritesheet,
            _ => ContentVariant.Video,
        };
        try
        {
            var content = await engine.OpenContentAsync(id, caller, which, context.RequestAborted).ConfigureAwait(false);
            var result = ContentResults.Serve(content, id, which);
            // Played and shown in the page, not downloaded: the filename stays for "save as".
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.ContentDisposition = context.Response.Headers.ContentDisposition.ToString().Replace("attachment", "inline", StringComparison.Ordinal);
                context.Response.Headers.CacheControl = "private, max-age=300";
                return Task.CompletedTask;
            });
            return result;
        }
        catch (ReelayException ex)
        {
            context.Response.Headers.CacheControl = "no-store";
            return TypedResults.Text(ex.Error.Message, "text/plain; charset=utf-8", statusCode: ex.HttpStatus);
        }
    }

    /// <summary>
    /// The dashboard's live updates: one server-sent event stream for up to <see cref="MaxStreamedJobs"/> jobs (a page of the
    /// list or one job), fed by the same <see cref="JobEventHub"/> as <c>GET /v1/videos/{id}/events</c>. One connection for
    /// the whole page, because a browser opens at most six per host. Jobs the caller may not see are left out silently.
    /// </summary>
    private static async Task<IResult> Events(HttpContext context, JobEngine engine, JobEventHub hub, IHostApplicationLifetime lifetime)
    {
        var caller = CallerOf(context);
        var ids = context.Request.Query["ids"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(i => i.Length <= 100).Distinct(StringComparer.Ordinal).Take(MaxStreamedJobs).ToList();
        if (ids.Count == 0)
        {
            return TypedResults.Text("Name the jobs to follow: ?ids=video_1,video_2", "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
        }

        var subscriptions = new List<JobEventHub.Subscription>();
        var current = new List<Job>();
        try
        {
            foreach (var id in ids)
            {
                // Subscribe first, then read, so that no change falls between the two.
                if (hub.TrySubscribe(id) is not { } subscription)
                {
                    break;
                }

                try
                {
                    current.Add(await engine.GetAsync(id, caller, context.RequestAborted).ConfigureAwait(false));
                    subscriptions.Add(subscription);
                }
                catch (ReelayException)
                {
                    subscription.Dispose();
                }
            }
        }
        catch
        {
            subscriptions.ForEach(s => s.Dispose());
            throw;
        }

        if (subscriptions.Count == 0)
        {
            return TypedResults.Text("None of these jobs can be followed (unknown, not yours, or too many open streams).", "text/plain; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
        }

        return TypedResults.ServerSentEvents(Stream(subscriptions, current, lifetime.ApplicationStopping, context.RequestAborted));
    }

    private static async IAsyncEnumerable<System.Net.ServerSentEvents.SseItem<string>> Stream(
        List<JobEventHub.Subscription> subscriptions, List<Job> current, CancellationToken stopping, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
        var merged = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var pumps = subscriptions.Select(s => PumpAsync(s, merged.Writer, linked.Token)).ToList();
        try
        {
            foreach (var job in current)
            {
                versions[job.Id] = job.Version;
                yield return Event(job);
            }

            var unfinished = current.Where(j => !j.Status.IsTerminal()).Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            while (unfinished.Count > 0)
            {
                Job job;
                try
                {
                    job = await merged.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }

                if (!unfinished.Contains(job.Id) || (versions.TryGetValue(job.Id, out var seen) && job.Version <= seen))
                {
                    continue;
                }

                versions[job.Id] = job.Version;
                yield return Event(job);
                if (job.Status.IsTerminal())
                {
                    unfinished.Remove(job.Id);
                }
            }
        }
        finally
        {
            linked.Cancel();
            subscriptions.ForEach(s => s.Dispose());
        }
    }

    private static async Task PumpAsync(JobEventHub.Subscription subscription, ChannelWriter<Job> writer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var job in subscription.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                writer.TryWrite(job);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private static System.Net.ServerSentEvents.SseItem<string> Event(Job job) =>
        new(JsonSerializer.Serialize(new DashboardJobEvent(
            job.Id, job.Status.ToWire(), job.Progress, job.Status.IsTerminal(), job.Error?.Code, job.Error?.Message, job.Provider, job.UpstreamId), DashboardJson.Default.DashboardJobEvent), "job")
        {
            EventId = job.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
}

/// <summary>One job change as the dashboard's script reads it.</summary>
internal sealed record DashboardJobEvent(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("progress")] int Progress,
    [property: JsonPropertyName("terminal")] bool Terminal,
    [property: JsonPropertyName("error_code")] string? ErrorCode,
    [property: JsonPropertyName("error_message")] string? ErrorMessage,
    [property: JsonPropertyName("provider")] string? Provider,
    [property: JsonPropertyName("upstream_id")] string? UpstreamId);

[JsonSerializable(typeof(DashboardJobEvent))]
internal sealed partial class DashboardJson : JsonSerializerContext;
