using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Net;

namespace Reelay.Server.Dialects.SoraRelay;

/// <summary>
/// Parses POST /v2/videos/generations into a canonical <see cref="JobRequest"/>. Every field is checked before anything is
/// refused, so one answer names every field at fault (the seed document's own example has three).
/// </summary>
internal sealed class SoraRelayRequestReader : IDialectRequestReader
{
    /// <summary>The dialect's name on the jobs it creates.</summary>
    public const string Dialect = "sora-relay";
    public const int MaxNotifyHookLength = 2048;

    private static readonly string[] KnownFields = ["prompt", "model", "images", "aspect_ratio", "hd", "duration", "notify_hook", "watermark", "private", "seed"];

    private sealed record Problem(string Param, string Message, string Code = ErrorCodes.InvalidRequest);

    public static async Task<JobRequest> ReadAsync(DialectContext dialect)
    {
        var catalog = dialect.Catalog;
        JsonBody.RequireJsonContentType(dialect.Request);
        using (var document = await JsonBody.ReadObjectAsync(dialect.Request, dialect.Aborted).ConfigureAwait(false))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ReelayException.Invalid("body", "The request body must be a JSON object.");
            }

            var problems = new List<Problem>();
            foreach (var property in root.EnumerateObject().Where(p => !KnownFields.Contains(p.Name)))
            {
                problems.Add(new(property.Name, property.Name.StartsWith("character_", StringComparison.Ordinal)
                    ? $"'{property.Name}' (character cameos) is not supported by Reelay; allowed fields: {string.Join(", ", KnownFields)}."
                    : $"'{property.Name}' is not recognised; allowed fields: {string.Join(", ", KnownFields)}."));
            }

            var modelName = Model(root, problems);
            var model = modelName is null ? null : catalog.Find(modelName);
            var prompt = Prompt(root, problems);
            var image = Images(root, problems);
            var aspect = String(root, "aspect_ratio", problems);
            var hd = Boolean(root, "hd", problems);
            var duration = Duration(root, model, problems);
            if (hd == true && model is not null)
            {
                if (!SoraRelayModels.OffersHd(model))
                {
                    problems.Add(new("hd", $"hd is supported only by {SoraRelayModels.JoinOr(SoraRelayModels.WithHd(catalog))}; model '{model.Name}' has no {SoraRelayModels.HdTier} tier. Send hd false, or use model sora-2-pro."));
                }
                else if (duration is { } seconds && model.ResolutionDurations.TryGetValue(SoraRelayModels.HdTier, out var hdDurations) && !hdDurations.Allows(seconds))
                {
                    problems.Add(new("duration", $"duration \"{seconds}\" cannot be combined with hd: model '{model.Name}' renders {seconds} s without hd only; with hd it offers {hdDurations.Describe()} seconds."));
                }
            }

            var webhook = NotifyHook(root, dialect.Addresses, problems);
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in new[] { "watermark", "private" })
            {
                if (Boolean(root, name, problems) is { } flag)
                {
                    options[name] = flag ? "true" : "false";
                }
            }

            var seed = Seed(root, problems);
            if (problems.Count > 0)
            {
                throw problems.Count == 1
                    ? new ReelayException(problems[0].Code, problems[0].Message, problems[0].Param)
                    : ReelayException.Invalid(problems[0].Param, $"{problems.Count} fields are invalid: {string.Join(" ", problems.Select(p => p.Message))}");
            }

            return new JobRequest
            {
                Model = modelName!,
                Mode = image is null ? VideoMode.TextToVideo : VideoMode.ImageToVideo,
                Prompt = prompt,
                FirstFrame = image,
                DurationSeconds = duration,
                Resolution = hd == true ? SoraRelayModels.HdTier : SoraRelayModels.StandardTier,
                AspectRatio = aspect,
                Seed = seed,
                Options = options.Count > 0 ? options : null,
                WebhookUrl = webhook,

                // The relay's callbacks come at status changes only, as its clients expect: no job.progress.
                WebhookEvents = webhook is null ? null : [.. Reelay.Webhooks.WebhookEvents.All.Where(e => e != Reelay.Webhooks.WebhookEvents.Progress)],
                Owner = dialect.Owner,
                IdempotencyKey = dialect.IdempotencyKey,
                Dialect = Dialect,
            };
        }
    }

    private static string? Model(JsonElement root, List<Problem> problems)
    {
        var allowed = SoraRelayModels.JoinOr(SoraRelayModels.All);
        if (!root.TryGetProperty("model", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            problems.Add(new("model", $"'model' is required; allowed: {allowed}."));
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add(new("model", $"'model' must be a string; allowed: {allowed}."));
            return null;
        }

        var name = value.GetString()!;
        if (!SoraRelayModels.IsKnown(name))
        {
            problems.Add(new("model", $"model '{name}' is not offered; allowed: {allowed}.", ErrorCodes.UnsupportedModel));
            return null;
        }

        return name;
    }

    private static string? Prompt(JsonElement root, List<Problem> problems)
    {
        if (!root.TryGetProperty("prompt", out var value) || value.ValueKind == JsonValueKind.Null
            || (value.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(value.GetString())))
        {
            problems.Add(new("prompt", "'prompt' is required and must not be empty."));
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add(new("prompt", $"'prompt' must be a string (got {Kind(value)})."));
            return null;
        }

        return value.GetString();
    }

    private static InputImage? Images(JsonElement root, List<Problem> problems)
    {
        if (!root.TryGetProperty("images", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            problems.Add(new("images", $"'images' must be an array of image URLs or data URIs, at most one (got {Kind(value)})."));
            return null;
        }

        var count = value.GetArrayLength();
        if (count == 0)
        {
            return null;
        }

        if (count > 1)
        {
            problems.Add(new("images", $"'images' has {count} entries; Reelay takes at most one, the first frame of an image-to-video job. Multi-image modes are not supported yet."));
            return null;
        }

        var first = value[0];
        if (first.ValueKind != JsonValueKind.String)
        {
            problems.Add(new("images[0]", $"'images[0]' must be a string: an http(s) URL or a data URI (got {Kind(first)})."));
            return null;
        }

        try
        {
            return InputImage.Parse(first.GetString()!, "images[0]");
        }
        catch (ReelayException ex)
        {
            problems.Add(new(ex.Error.Param ?? "images[0]", ex.Error.Message, ex.Error.Code));
            return null;
        }
    }

    private static int? Duration(JsonElement root, ModelDefinition? model, List<Problem> problems)
    {
        if (!root.TryGetProperty("duration", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var allowed = model is null ? "" : $"; model '{model.Name}' offers {model.Durations.Describe()}";
        switch (value.ValueKind)
        {
            case JsonValueKind.String when int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n):
                return n;
            case JsonValueKind.Number when value.TryGetInt32(out var n):
                return n;
            case JsonValueKind.String:
                problems.Add(new("duration", $"duration '{value.GetString()}' is not a whole number of seconds such as \"10\"{allowed}."));
                return null;
            default:
                problems.Add(new("duration", $"'duration' must be a string of whole seconds such as \"10\" (got {Kind(value)}){allowed}."));
                return null;
        }
    }

    private static string? NotifyHook(JsonElement root, AddressPolicy addresses, List<Problem> problems)
    {
        if (!root.TryGetProperty("notify_hook", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add(new("notify_hook", $"'notify_hook' must be a string: an absolute http(s) URL (got {Kind(value)})."));
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length == 0)
        {
            // Clients fill optional strings with "": no hook.
            return null;
        }

        if (text.Length > MaxNotifyHookLength)
        {
            problems.Add(new("notify_hook", $"'notify_hook' is {text.Length} characters long; at most {MaxNotifyHookLength} are allowed."));
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            var shown = text.Length > 64 ? text[..64] + "…" : text;
            problems.Add(new("notify_hook", $"notify_hook '{shown}' is not an absolute http(s) URL such as https://example.com/callback."));
            return null;
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && !addresses.IsAllowed(ip))
        {
            problems.Add(new("notify_hook", $"notify_hook points at {ip}, a loopback, private, link-local, metadata or multicast address; Reelay does not call those (an operator may allow a range with Reelay:Limits:AllowPrivateNetworks)."));
            return null;
        }

        return uri.AbsoluteUri;
    }

    private static long? Seed(JsonElement root, List<Problem> problems)
    {
        if (!root.TryGetProperty("seed", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n))
        {
            // As in the relay's clients, seed 0 means "random": no seed.
            return n == 0 ? null : n;
        }

        problems.Add(new("seed", $"'seed' must be an integer (got {Kind(value)})."));
        return null;
    }

    private static string? String(JsonElement root, string name, List<Problem> problems)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        problems.Add(new(name, $"'{name}' must be a string (got {Kind(value)})."));
        return null;
    }

    private static bool? Boolean(JsonElement root, string name, List<Problem> problems)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        problems.Add(new(name, $"'{name}' must be a boolean, true or false (got {Kind(value)} {Shown(value)})."));
        return null;
    }

    private static string Shown(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length > 32 ? raw[..32] + "…" : raw;
    }

    /// <summary>The relay's spelling of a canonical field name, for the error envelope.</summary>
    public static string? FieldPath(string? canonical) => canonical switch
    {
        null => null,
        "first_frame" => "images",
        "resolution" or "size" => "hd",
        "id" => "task_id",
        _ => canonical,
    };

    private static string Kind(JsonElement value) => JsonBody.Kind(value.ValueKind);
}
