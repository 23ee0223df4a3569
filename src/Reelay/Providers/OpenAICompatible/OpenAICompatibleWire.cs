using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Reelay.Providers.Http;

namespace Reelay.Providers.OpenAICompatible;

/// <summary>
/// The wire of OpenAI's Videos API (provider-apis.md §4): the multipart create body the SDKs send, and tolerant readers
/// for the video object and the {"error":{message,type,param,code}} envelope.
/// </summary>
internal static class OpenAICompatibleWire
{
    /// <summary>What a video object's status means, after tolerant normalisation.</summary>
    public enum Phase
    {
        Waiting,
        Running,
        Completed,
        Failed,
        Cancelled,
        Expired,
        Unknown,
    }

    /// <summary>
    /// POST /videos as multipart/form-data: model, prompt, seconds (a string, as the API defines it), size, and the first
    /// frame as the file part input_reference. <paramref name="seed"/> is sent only when given (a Reelay upstream takes it;
    /// OpenAI does not, so CheckSupport never lets a seed reach a Sora model).
    /// </summary>
    public static MultipartFormDataContent CreateBody(string model, string? prompt, int seconds, string size, FirstFrame? frame, long? seed)
    {
        var form = new MultipartFormDataContent();

        // .NET quotes the boundary parameter (boundary="…"); the SDKs send it bare, and some parsers take the quotes as part of it.
        var boundary = form.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary");
        boundary.Value = boundary.Value!.Trim('"');
        Field(form, "model", model);
        if (prompt is not null)
        {
            Field(form, "prompt", prompt);
        }

        Field(form, "seconds", seconds.ToString(CultureInfo.InvariantCulture));
        Field(form, "size", size);
        if (seed is { } s)
        {
            Field(form, "seed", s.ToString(CultureInfo.InvariantCulture));
        }

        if (frame is not null)
        {
            var file = new ByteArrayContent(frame.Bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue(frame.MediaType);
            file.Headers.ContentDisposition = Disposition("input_reference", frame.FileName);
            form.Add(file);
        }

        return form;
    }

    /// <summary>
    /// POST /videos as JSON (the document's CreateVideoJsonBody): model, prompt, seconds (a string), size, the first frame as
    /// <c>input_reference: {"image_url": "data:…"}</c>, and the characters as OpenAI's guide names them in a create request:
    /// <c>characters: [{"id": "…"}]</c>, the upstream's own ids. Used when the job shows characters.
    /// </summary>
    public static StringContent CreateJsonBody(string model, string? prompt, int seconds, string size, FirstFrame? frame, long? seed, IReadOnlyList<string> characterIds)
    {
        ArgumentNullException.ThrowIfNull(characterIds);
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["model"] = model,
            ["prompt"] = prompt,
            ["seconds"] = seconds.ToString(CultureInfo.InvariantCulture),
            ["size"] = size,
        };
        if (prompt is null)
        {
            body.Remove("prompt");
        }

        if (seed is { } s)
        {
            body["seed"] = s;
        }

        if (frame is not null)
        {
            body["input_reference"] = new System.Text.Json.Nodes.JsonObject { ["image_url"] = frame.DataUri };
        }

        body["characters"] = new System.Text.Json.Nodes.JsonArray([.. characterIds.Select(id => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["id"] = id })]);
        return new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
    }

    /// <summary>
    /// POST /videos/characters as the document's CreateVideoCharacterBody (multipart): name, and the media as the file part
    /// video (an image character is sent as it is: the part's type says what it is).
    /// </summary>
    public static MultipartFormDataContent CharacterBody(string name, byte[] media, string mediaType)
    {
        var form = new MultipartFormDataContent();
        var boundary = form.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary");
        boundary.Value = boundary.Value!.Trim('"');
        Field(form, "name", name);
        var file = new ByteArrayContent(media);
        file.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        file.Headers.ContentDisposition = Disposition("video", "character." + mediaType[(mediaType.IndexOf('/', StringComparison.Ordinal) + 1)..].Replace("jpeg", "jpg", StringComparison.Ordinal));
        form.Add(file);
        return form;
    }

    /// <summary>
    /// A remix, edit or extension of the upstream's own video <paramref name="sourceId"/>, as the SDKs send them
    /// (multipart): POST videos/{id}/remix with prompt; POST videos/edits with prompt and video[id]; POST
    /// videos/extensions with prompt, seconds and video[id]. Returns the relative path and the body.
    /// </summary>
    public static (string Path, MultipartFormDataContent Body) DerivedBody(Jobs.JobOperation operation, string sourceId, string? prompt, int? extensionSeconds)
    {
        var form = new MultipartFormDataContent();
        var boundary = form.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary");
        boundary.Value = boundary.Value!.Trim('"');
        Field(form, "prompt", prompt ?? string.Empty);
        switch (operation)
        {
            case Jobs.JobOperation.Remix:
                return ("videos/" + Uri.EscapeDataString(sourceId) + "/remix", form);
            case Jobs.JobOperation.Edit:
                Field(form, "video[id]", sourceId);
                return ("videos/edits", form);
            case Jobs.JobOperation.Extend:
                Field(form, "seconds", (extensionSeconds ?? 0).ToString(CultureInfo.InvariantCulture));
                Field(form, "video[id]", sourceId);
                return ("videos/extensions", form);
            default:
                form.Dispose();
                throw new ArgumentOutOfRangeException(nameof(operation), operation, "Not a derived operation.");
        }
    }

    /// <summary>The error envelope's message, or null.</summary>
    public static string? ErrorMessage(JsonElement? root) => root is { } r ? UpstreamJson.Str(r, "error", "message") ?? UpstreamJson.Str(r, "message") : null;

    /// <summary>The error envelope's code, falling back to its type (OpenAI puts insufficient_quota in both), or null.</summary>
    public static string? ErrorCode(JsonElement? root) => root is { } r
        ? UpstreamJson.Str(r, "error", "code") ?? UpstreamJson.Str(r, "error", "type") ?? UpstreamJson.Str(r, "code")
        : null;

    /// <summary>Whether an error envelope says the account is out of quota (OpenAI answers that with HTTP 429).</summary>
    public static bool IsInsufficientQuota(JsonElement? root) => root is { } r
        && (string.Equals(UpstreamJson.Str(r, "error", "code"), "insufficient_quota", StringComparison.OrdinalIgnoreCase)
            || string.Equals(UpstreamJson.Str(r, "error", "type"), "insufficient_quota", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// A video object's status, tolerant of case, separators and the synonyms other OpenAI-shaped servers use.
    /// </summary>
    public static Phase PhaseOf(string status) => status.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_') switch
    {
        "queued" or "pending" or "submitted" or "created" or "waiting" or "not_start" or "not_started" or "scheduled" => Phase.Waiting,
        "in_progress" or "inprogress" or "processing" or "running" or "generating" or "started" => Phase.Running,
        "completed" or "complete" or "succeeded" or "success" or "done" or "finished" => Phase.Completed,
        "failed" or "failure" or "error" or "errored" => Phase.Failed,
        "cancelled" or "canceled" => Phase.Cancelled,
        "expired" => Phase.Expired,
        _ => Phase.Unknown,
    };

    /// <summary>The video object's expires_at (Unix seconds), or null.</summary>
    public static DateTimeOffset? ExpiresAt(JsonElement root) => UpstreamJson.At(root, "expires_at") is { ValueKind: JsonValueKind.Number } n && n.TryGetInt64(out var seconds) && seconds > 0
        ? DateTimeOffset.FromUnixTimeSeconds(seconds)
        : null;

    private static void Field(MultipartFormDataContent form, string name, string value)
    {
        // Plain form fields without a per-part Content-Type, as browsers and the OpenAI SDKs send them.
        var content = new StringContent(value);
        content.Headers.ContentType = null;
        content.Headers.ContentDisposition = Disposition(name, null);
        form.Add(content);
    }

    /// <summary>
    /// <c>form-data; name="…"; filename="…"</c> with both quoted, as the OpenAI SDKs (and browsers) write it. Left to
    /// itself .NET writes <c>name=model</c> bare and adds <c>filename*=utf-8''…</c>, which Python's multipart parser reads
    /// as an empty form. Names and file names here are fixed ASCII words, so quoting needs no escaping.
    /// </summary>
    internal static ContentDispositionHeaderValue Disposition(string name, string? fileName)
    {
        var disposition = new ContentDispositionHeaderValue("form-data") { Name = Quote(name) };
        if (fileName is not null)
        {
            disposition.FileName = Quote(fileName);
        }

        return disposition;
    }

    private static string Quote(string value) => value.Contains('"', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal)
        ? throw new ArgumentException($"'{value}' cannot be a multipart name.", nameof(value))
        : "\"" + value + "\"";
}
