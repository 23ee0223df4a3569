using System.Globalization;
using System.Text.Json;
using Reelay.Jobs;
using Reelay.Server.Webhooks;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>
/// Parses OpenAI's remix (POST /v1/videos/{video_id}/remix), edit (POST /v1/videos/edits) and extension
/// (POST /v1/videos/extensions) bodies, JSON or multipart as the SDKs send them (the npm client sends edits and
/// extensions as multipart with <c>video[id]</c>), into a canonical <see cref="JobRequest"/> naming its source job.
/// </summary>
internal static class OpenAIOperationReader
{
    private const string Alternatives = "application/json or multipart/form-data";

    /// <summary>What each operation accepts besides OpenAI's own fields: Reelay's metadata and webhook fields.</summary>
    private static readonly string[] Common = ["prompt", "metadata", WebhookRequestFields.UrlField, WebhookRequestFields.EventsField];

    public static Task<JobRequest> ReadRemixAsync(DialectContext dialect, string videoId) =>
        ReadAsync(dialect, JobOperation.Remix, videoId, [.. Common, "seconds", "size"]);

    public static Task<JobRequest> ReadEditAsync(DialectContext dialect) =>
        ReadAsync(dialect, JobOperation.Edit, null, [.. Common, "video"]);

    public static Task<JobRequest> ReadExtendAsync(DialectContext dialect) =>
        ReadAsync(dialect, JobOperation.Extend, null, [.. Common, "video", "seconds"]);

    private static async Task<JobRequest> ReadAsync(DialectContext dialect, JobOperation operation, string? pathId, string[] known)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        string? webhook;
        IReadOnlyList<string>? events;
        string? videoId = pathId;
        if (dialect.Request.HasFormContentType)
        {
            var form = await FormBody.ReadAsync(dialect.Request, dialect.Limits.MaxImageBytes, dialect.Aborted).ConfigureAwait(false);
            if (form.Files.Count > 0 && form.Files[0] is var file)
            {
                throw file.Name == "video" && known.Contains("video")
                    ? ReelayException.Invalid("video", "Uploading a video to edit or extend is not supported by this gateway; give the id of a completed video as video[id].")
                    : ReelayException.Invalid(file.Name, $"'{file.Name}' is a file upload, which this operation does not take.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in form.Fields)
            {
                if (WebhookRequestFields.IsFormField(key))
                {
                    continue;
                }

                if (!seen.Add(key))
                {
                    throw ReelayException.Invalid(key, $"'{key}' is given more than once; send each field once.");
                }

                if (key == "video[id]" && known.Contains("video"))
                {
                    videoId = value;
                }
                else if (key.StartsWith("metadata[", StringComparison.Ordinal) && key.EndsWith(']') && key.Length > 10)
                {
                    metadata[key[9..^1]] = value;
                }
                else if (known.Contains(key) && key is not ("video" or "metadata"))
                {
                    fields[key] = value;
                }
                else
                {
                    throw Unknown(key, known);
                }
            }

            (webhook, events) = WebhookRequestFields.FromForm(form, dialect.Addresses, WebhookRequestFields.OpenAIEvents);
        }
        else
        {
            JsonBody.RequireJsonContentType(dialect.Request, Alternatives);
            using var document = await JsonBody.ReadObjectAsync(dialect.Request, dialect.Aborted).ConfigureAwait(false);
            var root = document.RootElement;
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name;
                var value = property.Value;
                if (!known.Contains(name))
                {
                    throw Unknown(name, known);
                }

                switch (name)
                {
                    case WebhookRequestFields.UrlField or WebhookRequestFields.EventsField:
                        break;
                    case "video":
                        videoId = VideoReference(value);
                        break;
                    case "metadata" when value.ValueKind == JsonValueKind.Object:
                        foreach (var m in value.EnumerateObject())
                        {
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                                ? m.Value.GetString()!
                                : throw ReelayException.Invalid($"metadata.{m.Name}", $"'metadata.{m.Name}' must be a string (got {JsonBody.Kind(m.Value.ValueKind)}).");
                        }

                        break;
                    case "metadata":
                        throw ReelayException.Invalid("metadata", "'metadata' must be an object of string keys to string values.");
                    case "seconds" when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n):
                        fields[name] = n.ToString(CultureInfo.InvariantCulture);
                        break;
                    default:
                        fields[name] = value.ValueKind == JsonValueKind.String
                            ? value.GetString()!
                            : throw ReelayException.Invalid(name, $"'{name}' must be a string (got {JsonBody.Kind(value.ValueKind)}).");
                        break;
                }
            }

            (webhook, events) = WebhookRequestFields.FromJson(root, dialect.Addresses, WebhookRequestFields.OpenAIEvents);
        }

        var prompt = fields.GetValueOrDefault("prompt");
        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw ReelayException.Invalid("prompt", $"'prompt' is required: {(operation == JobOperation.Extend ? "what happens next" : operation == JobOperation.Edit ? "what to change" : "the new prompt")}.");
        }

        var sourceParam = operation == JobOperation.Remix ? "video_id" : "video";
        if (string.IsNullOrEmpty(videoId))
        {
            throw ReelayException.Invalid(sourceParam, "'video' is required: the completed video, as {\"id\": \"video_...\"} (multipart: video[id]).");
        }

        int? seconds = fields.TryGetValue("seconds", out var secondsText)
            ? int.TryParse(secondsText, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0
                ? s
                : throw ReelayException.Invalid("seconds", $"'seconds' must be a whole number of seconds such as \"4\" or \"8\" (got '{Shown(secondsText)}').")
            : null;
        if (operation == JobOperation.Extend && seconds is null)
        {
            throw ReelayException.Invalid("seconds", "'seconds' is required: the length of the new segment, e.g. \"4\".");
        }

        return new JobRequest
        {
            Model = string.Empty,
            Operation = operation,
            SourceJobId = videoId,
            SourceParam = sourceParam,
            Prompt = prompt,
            DurationSeconds = operation == JobOperation.Extend ? null : seconds,
            ExtensionSeconds = operation == JobOperation.Extend ? seconds : null,
            Size = OpenAIRequestReader.CheckSize(fields.GetValueOrDefault("size")),
            Metadata = metadata.Count > 0 ? OpenAIRequestReader.CheckMetadata(metadata) : null,
            WebhookUrl = webhook,
            WebhookEvents = events,
            Owner = dialect.Owner,
            IdempotencyKey = dialect.IdempotencyKey,
            Dialect = OpenAIRequestReader.Dialect,
        };
    }

    private static string VideoReference(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ReelayException.Invalid("video", $"'video' must be an object {{\"id\": \"video_...\"}} (got {JsonBody.Kind(value.ValueKind)}); uploading a video is not supported by this gateway.");
        }

        string? id = null;
        foreach (var p in value.EnumerateObject())
        {
            id = p.Name == "id"
                ? p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : throw ReelayException.Invalid("video.id", "'video.id' must be a string.")
                : throw ReelayException.Invalid($"video.{p.Name}", $"'video.{p.Name}' is not recognised; give {{\"id\": \"video_...\"}}.");
        }

        return string.IsNullOrEmpty(id) ? throw ReelayException.Invalid("video.id", "'video.id' is required: the id of a completed video.") : id;
    }

    private static ReelayException Unknown(string name, string[] known) =>
        ReelayException.Invalid(Shown(name), $"Unrecognized request argument supplied: '{Shown(name)}'. Allowed: {string.Join(", ", known.Select(k => k == "video" ? "video (video[id])" : k))}.");

    private static string Shown(string text) => text.Length > 40 ? string.Concat(text.AsSpan(0, char.IsHighSurrogate(text[39]) ? 39 : 40), "…") : text;
}
