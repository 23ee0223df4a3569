using System.Net;
using System.Text.Json;
using Reelay.Server.Dialects;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Webhooks;

namespace Reelay.Server.Webhooks;

/// <summary>
/// The Reelay extension fields every dialect's submit takes (the Sora relay has its own notify_hook): <c>webhook_url</c>,
/// an absolute http(s) URL, and <c>webhook_events</c>, the event types to send (JSON array, or in a form a comma-separated
/// value or repeated fields; default every event). The OpenAI dialect's jobs may also name OpenAI's own event types
/// (<see cref="WebhookEvents.OpenAI"/>: video.completed, video.failed), delivered in OpenAI's event shape.
/// </summary>
internal static class WebhookRequestFields
{
    public const string UrlField = "webhook_url";
    public const string EventsField = "webhook_events";
    public const int MaxUrlLength = 2048;

    /// <summary>The event types the OpenAI dialect takes besides Reelay's own.</summary>
    public static IReadOnlyList<string> OpenAIEvents => WebhookEvents.OpenAI;

    /// <summary>The fields of a JSON body (absent or null: no webhook).</summary>
    public static (string? Url, IReadOnlyList<string>? Events) FromJson(JsonElement root, AddressPolicy addresses, IReadOnlyList<string>? extraEvents = null)
    {
        extraEvents ??= [];
        string? url = null;
        if (root.TryGetProperty(UrlField, out var u) && u.ValueKind != JsonValueKind.Null)
        {
            url = u.ValueKind == JsonValueKind.String
                ? u.GetString()
                : throw ReelayException.Invalid(UrlField, $"'{UrlField}' must be a string: an absolute http(s) URL such as https://example.com/hooks/reelay.");
        }

        List<string>? events = null;
        if (root.TryGetProperty(EventsField, out var e) && e.ValueKind != JsonValueKind.Null)
        {
            if (e.ValueKind != JsonValueKind.Array || e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            {
                throw ReelayException.Invalid(EventsField, $"'{EventsField}' must be an array of event names; allowed: {Allowed(extraEvents)}.");
            }

            events = [.. e.EnumerateArray().Select(x => x.GetString()!)];
        }

        return Validate(url, events, addresses, extraEvents);
    }

    /// <summary>The fields of a multipart or urlencoded form (webhook_url at most once).</summary>
    public static (string? Url, IReadOnlyList<string>? Events) FromForm(FormBody form, AddressPolicy addresses, IReadOnlyList<string>? extraEvents = null)
    {
        ArgumentNullException.ThrowIfNull(form);
        var urls = form.Values(UrlField);
        if (urls.Count > 1)
        {
            throw ReelayException.Invalid(UrlField, $"'{UrlField}' is given {urls.Count} times; send one URL.");
        }

        List<string>? events = null;
        foreach (var key in new[] { EventsField, EventsField + "[]" })
        {
            if (form.Values(key) is { Count: > 0 } values)
            {
                events ??= [];
                events.AddRange(values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
            }
        }

        return Validate(urls.Count == 1 ? urls[0] : null, events, addresses, extraEvents ?? []);
    }

    /// <summary>Whether a form key is one of these fields.</summary>
    public static bool IsFormField(string key) => key is UrlField or EventsField or EventsField + "[]";

    private static string Allowed(IReadOnlyList<string> extraEvents) => string.Join(", ", WebhookEvents.All.Concat(extraEvents));

    private static (string? Url, IReadOnlyList<string>? Events) Validate(string? text, List<string>? events, AddressPolicy addresses, IReadOnlyList<string> extraEvents)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return events is null
                ? (null, null)
                : throw ReelayException.Invalid(EventsField, $"'{EventsField}' needs '{UrlField}': give the URL the events are sent to.");
        }

        if (text.Length > MaxUrlLength)
        {
            throw ReelayException.Invalid(UrlField, $"'{UrlField}' is {text.Length} characters long; at most {MaxUrlLength} are allowed.");
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            var shown = text.Length > 64 ? text[..(char.IsHighSurrogate(text[63]) ? 63 : 64)] + "…" : text;
            throw ReelayException.Invalid(UrlField, $"{UrlField} '{shown}' is not an absolute http(s) URL such as https://example.com/hooks/reelay.");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw ReelayException.Invalid(UrlField, $"'{UrlField}' must not carry credentials (user:password@); put a token in the path or query, or verify the signature instead.");
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && !addresses.IsAllowed(ip))
        {
            throw ReelayException.Invalid(UrlField, $"{UrlField} points at {ip}, a loopback, private, link-local, metadata or multicast address; Reelay does not call those (an operator may allow a range with Reelay:Limits:AllowPrivateNetworks).");
        }

        if (events is null)
        {
            return (uri.AbsoluteUri, null);
        }

        var known = WebhookEvents.All.Concat(extraEvents).ToList();
        var unknown = events.Where(e => !known.Contains(e, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
        {
            var also = WebhookEvents.OpenAI.Intersect(unknown, StringComparer.Ordinal).Any() && extraEvents.Count == 0 ? " (OpenAI's video.* event types are for jobs submitted through POST /v1/videos)" : "";
            throw ReelayException.Invalid(EventsField, $"'{EventsField}' names {string.Join(", ", unknown.Take(5).Select(x => $"'{(x.Length > 40 ? x[..40] + "…" : x)}'"))}, which {(unknown.Count == 1 ? "is not an event" : "are not events")}{also}; allowed: {Allowed(extraEvents)}.");
        }

        if (events.Count == 0)
        {
            throw ReelayException.Invalid(EventsField, $"'{EventsField}' is empty; name at least one event ({Allowed(extraEvents)}), or leave it out for every event.");
        }

        return (uri.AbsoluteUri, [.. known.Where(events.Contains)]);
    }
}
