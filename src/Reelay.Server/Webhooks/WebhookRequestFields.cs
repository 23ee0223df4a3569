using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reelay.Jobs;
using Reelay.Net;
using Reelay.Webhooks;

namespace Reelay.Server.Webhooks;

/// <summary>
/// The Reelay extension fields every dialect's submit takes (the Sora relay has its own notify_hook): <c>webhook_url</c>,
/// an absolute http(s) URL, and <c>webhook_events</c>, the event types to send (JSON array, or in a form a comma-separated
/// value or repeated fields; default every event).
/// </summary>
internal static class WebhookRequestFields
{
    public const string UrlField = "webhook_url";
    public const string EventsField = "webhook_events";
    public const int MaxUrlLength = 2048;

    /// <summary>The fields of a JSON body (absent or null: no webhook).</summary>
    public static (string? Url, IReadOnlyList<string>? Events) FromJson(JsonElement root, AddressPolicy addresses)
    {
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
                throw ReelayException.Invalid(EventsField, $"'{EventsField}' must be an array of event names; allowed: {Allowed}.");
            }

            events = [.. e.EnumerateArray().Select(x => x.GetString()!)];
        }

        return Validate(url, events, addresses);
    }

    /// <summary>The fields of a multipart or urlencoded form.</summary>
    public static (string? Url, IReadOnlyList<string>? Events) FromForm(IFormCollection form, AddressPolicy addresses)
    {
        var url = form.TryGetValue(UrlField, out var u) ? u.ToString() : null;
        List<string>? events = null;
        foreach (var key in new[] { EventsField, EventsField + "[]" })
        {
            if (form.TryGetValue(key, out var values))
            {
                events ??= [];
                events.AddRange(values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
            }
        }

        return Validate(url, events, addresses);
    }

    /// <summary>Whether a form key is one of these fields.</summary>
    public static bool IsFormField(string key) => key is UrlField or EventsField or EventsField + "[]";

    private static string Allowed => string.Join(", ", WebhookEvents.All);

    private static (string? Url, IReadOnlyList<string>? Events) Validate(string? text, List<string>? events, AddressPolicy addresses)
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
            var shown = text.Length > 64 ? text[..64] + "…" : text;
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

        var unknown = events.Where(e => !WebhookEvents.IsKnown(e)).ToList();
        if (unknown.Count > 0)
        {
            throw ReelayException.Invalid(EventsField, $"'{EventsField}' names {string.Join(", ", unknown.Select(x => $"'{x}'"))}, which {(unknown.Count == 1 ? "is not an event" : "are not events")}; allowed: {Allowed}.");
        }

        if (events.Count == 0)
        {
            throw ReelayException.Invalid(EventsField, $"'{EventsField}' is empty; name at least one event ({Allowed}), or leave it out for every event.");
        }

        return (uri.AbsoluteUri, [.. WebhookEvents.All.Where(events.Contains)]);
    }
}
