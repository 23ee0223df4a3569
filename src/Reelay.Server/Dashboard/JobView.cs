using Reelay.Accounts;
using Reelay.Jobs;
using Reelay.Webhooks;

namespace Reelay.Server.Dashboard;

/// <summary>Everything the job page shows, gathered from the engine and the stores.</summary>
/// <param name="Thumbnails">Whether this gateway makes thumbnails (Reelay:Storage:Thumbnails): when not, the page asks for no poster.</param>
public sealed record JobView(Job Job, ChargeRecord? Charge, IReadOnlyList<WebhookDeliveryLog> Deliveries, int? QueuePosition, DateTimeOffset Now, bool Thumbnails = true)
{
    /// <summary>
    /// The job's timeline as far as the store records it: creation, each submit attempt the job remembers (the last
    /// submit call), upstream acceptance, its last change and its end. The store keeps the current record, not a history
    /// of every poll; the webhook log and the engine's logs hold the rest.
    /// </summary>
    public IReadOnlyList<TimelineEntry> Timeline
    {
        get
        {
            var entries = new List<TimelineEntry> { new(Job.CreatedAt, "accepted", $"queued for {Job.Model} via {Job.Dialect ?? "an API"}") };
            if (Job.SubmitCall is { } call)
            {
                entries.Add(new(call.StartedAt, $"submit attempt {call.Attempt}", $"to {call.Provider} as {call.UpstreamModel} (reference {call.Reference})"));
            }

            if (Job.SubmitAttempts > 1)
            {
                entries.Add(new(null, "failover", $"{Job.SubmitAttempts} submit attempts were started in all; the engine's log names each deployment tried and why it moved on"));
            }

            if (Job.StartedAt is { } started)
            {
                entries.Add(new(started, "upstream accepted", $"{Job.Provider} task {Job.UpstreamId ?? "(no id)"}, model {Job.UpstreamModel}"));
            }

            if (!Job.Status.IsTerminal())
            {
                entries.Add(new(Job.UpdatedAt, $"last change: {Job.Status.ToWire()}", $"progress {Job.Progress}%"));
            }

            if (Job.Status.IsTerminal())
            {
                var detail = Job.Error is { } error ? $"{error.Code}: {error.Message}" : Job.ResultDurationSeconds is { } seconds ? $"{Format.Seconds(seconds)} of video, {Job.ResultWidth}x{Job.ResultHeight}" : "";
                entries.Add(new(Job.CompletedAt ?? Job.UpdatedAt, Job.Status.ToWire(), detail));
            }

            if (Job.ContentDeletedAt is { } swept)
            {
                entries.Add(new(swept, "content deleted", "the retention sweeper removed the stored files"));
            }

            if (Job.DeletedAt is { } deleted)
            {
                entries.Add(new(deleted, "deleted", ""));
            }

            return entries.OrderBy(e => e.At ?? DateTimeOffset.MaxValue).ToList();
        }
    }
}

/// <summary>One line of a job's timeline.</summary>
public sealed record TimelineEntry(DateTimeOffset? At, string What, string Detail);
