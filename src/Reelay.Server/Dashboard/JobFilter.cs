using System.Globalization;
using Microsoft.AspNetCore.Http;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Storage;

namespace Reelay.Server.Dashboard;

/// <summary>
/// The jobs list's filters (status, model, provider, key, time range, text in the prompt), read from the query string.
/// The store lists by owner and cursor only, so the other filters are applied while paging through it: the page is filled
/// from consecutive store pages, up to <see cref="MaxScanned"/> jobs per request, and the cursor is the same job id the
/// API's <c>after</c> takes.
/// </summary>
public sealed record JobFilter
{
    /// <summary>At most this many stored jobs are read to fill one filtered page; the page then ends early with a cursor.</summary>
    public const int MaxScanned = 2000;

    public JobStatus? Status { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Key { get; init; }

    public DateTimeOffset? Since { get; init; }

    public DateTimeOffset? Until { get; init; }

    public string? Text { get; init; }

    public string? After { get; init; }

    public int Limit { get; init; } = 20;

    /// <summary>Problems with the query, one per field, in words; the page shows them and lists unfiltered by that field.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>Whether any filter (not the cursor) is set.</summary>
    public bool Any => Status is not null || Model is not null || Provider is not null || Key is not null || Since is not null || Until is not null || Text is not null;

    /// <summary>Reads the filters; bad values become <see cref="Problems"/>, never exceptions.</summary>
    public static JobFilter Parse(IQueryCollection query)
    {
        var problems = new List<string>();
        JobStatus? status = null;
        if (Value(query, "status") is { } statusText)
        {
            try
            {
                status = JobStatusExtensions.ParseWire(statusText);
            }
            catch (FormatException)
            {
                problems.Add($"status '{statusText}' is not one of queued, submitting, running, succeeded, failed, cancelled.");
            }
        }

        var limit = 20;
        if (Value(query, "limit") is { } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            problems.Add($"limit '{limitText}' must be a whole number from 1 to 100.");
            limit = 20;
        }

        return new JobFilter
        {
            Status = status,
            Model = Value(query, "model"),
            Provider = Value(query, "provider"),
            Key = Value(query, "key"),
            Since = Time(query, "since", problems),
            Until = Time(query, "until", problems),
            Text = Value(query, "q"),
            After = Value(query, "after"),
            Limit = limit,
            Problems = problems,
        };
    }

    /// <summary>Whether <paramref name="job"/> passes every filter but the key (the store applies that one).</summary>
    public bool Matches(Job job) =>
        (Status is not { } s || job.Status == s)
        && (Model is null || string.Equals(job.Model, Model, StringComparison.OrdinalIgnoreCase))
        && (Provider is null || string.Equals(job.Provider, Provider, StringComparison.OrdinalIgnoreCase))
        && (Since is not { } since || job.CreatedAt >= since)
        && (Until is not { } until || job.CreatedAt < until)
        && (Text is null || (job.Prompt?.Contains(Text, StringComparison.OrdinalIgnoreCase) ?? false));

    /// <summary>
    /// One page of the caller's jobs (every owner's for an admin, narrowed by <see cref="Key"/>), newest first, filtered.
    /// A client's <see cref="Key"/> filter other than its own yields nothing, as another key's jobs do through the API.
    /// </summary>
    public async Task<FilteredPage> ListAsync(IJobStore store, Caller caller, CancellationToken cancellationToken)
    {
        string? owner;
        if (caller.IsAdmin)
        {
            owner = Key;
        }
        else if (Key is null || Key == caller.KeyId)
        {
            owner = caller.KeyId;
        }
        else
        {
            return new FilteredPage([], null);
        }

        var found = new List<Job>(Limit);
        var after = After;
        var scanned = 0;
        while (true)
        {
            var page = await store.ListAsync(new JobQuery { Owner = owner, After = after, Limit = 100, Ascending = false }, cancellationToken).ConfigureAwait(false);
            foreach (var job in page.Items)
            {
                scanned++;
                after = job.Id;
                if (Since is { } since && job.CreatedAt < since)
                {
                    // Newest first: everything after this one is older still.
                    return new FilteredPage(found, null);
                }

                if (Matches(job))
                {
                    found.Add(job);
                    if (found.Count == Limit)
                    {
                        return new FilteredPage(found, job.Id);
                    }
                }
            }

            if (!page.HasMore)
            {
                return new FilteredPage(found, null);
            }

            if (scanned >= MaxScanned)
            {
                // Stop reading; the cursor continues from the last job read, matched or not.
                return new FilteredPage(found, after);
            }
        }
    }

    private static string? Value(IQueryCollection query, string name) =>
        query[name] is { Count: > 0 } values && values[^1] is { } raw && raw.Trim() is { Length: > 0 and <= 500 } text ? text : null;

    private static DateTimeOffset? Time(IQueryCollection query, string name, List<string> problems)
    {
        if (Value(query, name) is not { } text)
        {
            return null;
        }

        // <input type="datetime-local"> sends "2026-11-30T20:15" (taken as UTC); full ISO 8601 with an offset works too.
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        problems.Add($"{name} '{text}' is not a date and time (e.g. 2026-11-30T20:15, UTC).");
        return null;
    }
}

/// <summary>A filtered page of jobs.</summary>
/// <param name="Items">The matching jobs, newest first.</param>
/// <param name="Next">The cursor for the next page (the last job read: shown, or the last one scanned when the scan cap cut the page short); null at the end.</param>
public sealed record FilteredPage(IReadOnlyList<Job> Items, string? Next);
