using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Emulators.Kernel;

namespace Reelay.Emulators.OpenAICompatible;

/// <summary>
/// EMULATOR of OpenAI's Videos API (provider-apis.md §4), as any OpenAI-compatible server offers it under /v1:
/// POST /v1/videos (multipart/form-data as the SDKs send it, or JSON; <c>characters</c> naming ids this server gave, an
/// unknown one refused), GET /v1/videos/{id}, GET /v1/videos (list), POST /v1/videos/characters and GET
/// /v1/videos/characters/{id} (a task's Extra["characters"] records the characters it shows),
/// DELETE /v1/videos/{id}, POST /v1/videos/{id}/remix, POST /v1/videos/edits, POST /v1/videos/extensions (a completed
/// source; an extension's seconds is the stitched total) and GET /v1/videos/{id}/content (the MP4 bytes, key required; "task is not completed yet"
/// before completion). "Authorization: Bearer &lt;key&gt;"; the video object with queued/in_progress/completed/failed and
/// error {code, message}; HTTP errors in {"error":{message,type,param,code}}; an exhausted account is HTTP 429
/// insufficient_quota; an input_reference that differs from the size is refused with "Inpaint image must match the
/// requested width and height" (Sora's rule) while <see cref="EmulatorFaults.RequireExactFirstFrameSize"/> is on.
/// A simulation, not OpenAI.
/// </summary>
public sealed class OpenAICompatibleEmulator(EmulatorOptions? options = null) : UpstreamEmulator(options)
{
    private static readonly string[] Sizes = ["720x1280", "1280x720"];
    private static readonly string[] ProSizes = ["720x1280", "1280x720", "1024x1792", "1792x1024"];
    private static readonly string[] Seconds = ["4", "8", "12"];
    private static readonly string[] Fields = ["model", "prompt", "seconds", "size", "input_reference", "characters"];

    private readonly ConcurrentQueue<string> _contentAccept = new();

    /// <inheritdoc />
    public override string Kind => "openai";

    /// <summary>The Accept header of every content request, in order (the SDKs send application/binary).</summary>
    public IReadOnlyList<string> ContentAcceptHeaders => [.. _contentAccept];

    /// <inheritdoc />
    protected override void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/videos", CreateAsync);
        app.MapGet("/v1/videos", ListAsync);
        app.MapGet("/v1/videos/{id}", RetrieveAsync);
        app.MapDelete("/v1/videos/{id}", DeleteAsync);
        app.MapGet("/v1/videos/{id}/content", ContentAsync);
        app.MapPost("/v1/videos/{id}/remix", (HttpContext context, string id) => DeriveAsync(context, "remix", id));
        app.MapPost("/v1/videos/edits", (HttpContext context) => DeriveAsync(context, "edit", null));
        app.MapPost("/v1/videos/extensions", (HttpContext context) => DeriveAsync(context, "extend", null));
        app.MapPost("/v1/videos/characters", CreateCharacterAsync);
        app.MapGet("/v1/videos/characters/{id}", GetCharacterAsync);
    }

    /// <summary>A character made with POST /v1/videos/characters: its id, name, the uploaded part's type and size.</summary>
    /// <param name="Id">char_…</param>
    /// <param name="Name">The display name.</param>
    /// <param name="MediaType">The file part's content type.</param>
    /// <param name="Length">The file's size in bytes.</param>
    /// <param name="CreatedAt">When it was made.</param>
    public sealed record EmulatedCharacter(string Id, string Name, string MediaType, long Length, DateTimeOffset CreatedAt);

    private readonly ConcurrentDictionary<string, EmulatedCharacter> _characters = new(StringComparer.Ordinal);

    /// <summary>Every character created, oldest first.</summary>
    public IReadOnlyList<EmulatedCharacter> Characters => [.. _characters.Values.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id, StringComparer.Ordinal)];

    /// <summary>Forgets every character (as an upstream that deleted them would), so later GETs and creates naming them get 404/400.</summary>
    public void ForgetCharacters() => _characters.Clear();

    // POST /v1/videos/characters: multipart name (1-80 characters) and the file part video, as the document's
    // CreateVideoCharacterBody says; answers {id, created_at, name}.
    private async Task CreateCharacterAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await WriteOpenAIErrorAsync(context, 400, "Expected multipart/form-data with 'name' and 'video'.", "invalid_request", null).ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var name = form["name"].ToString();
        if (name.Length is < 1 or > 80)
        {
            await WriteOpenAIErrorAsync(context, 400, "Invalid 'name': a string of 1 to 80 characters is required.", "invalid_value", "name").ConfigureAwait(false);
            return;
        }

        if (form.Files.GetFile("video") is not { Length: > 0 } video)
        {
            await WriteOpenAIErrorAsync(context, 400, "Missing required parameter: 'video'.", "missing_required_parameter", "video").ConfigureAwait(false);
            return;
        }

        var character = new EmulatedCharacter(NextId("char_"), name, video.ContentType ?? "", video.Length, Now);
        _characters[character.Id] = character;
        await WriteJsonAsync(context, CharacterJson(character)).ConfigureAwait(false);
    }

    private async Task GetCharacterAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        if (!_characters.TryGetValue(id, out var character))
        {
            await WriteOpenAIErrorAsync(context, 404, $"Character with id '{id}' not found.", "not_found", "character_id").ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, CharacterJson(character)).ConfigureAwait(false);
    }

    private static JsonObject CharacterJson(EmulatedCharacter character) =>
        new() { ["id"] = character.Id, ["created_at"] = character.CreatedAt.ToUnixTimeSeconds(), ["name"] = character.Name };

    // The ids of a create request's characters: JSON [{"id": "…"}] or ["…"]; multipart characters, characters[] or
    // characters[][id] (the npm SDK's spelling of an array of objects). Null when malformed.
    private static List<string>? CharacterIds(string? json, IEnumerable<string> formValues)
    {
        var ids = formValues.ToList();
        if (json is null)
        {
            return ids;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var item in document.RootElement.EnumerateArray())
            {
                var id = item.ValueKind switch
                {
                    JsonValueKind.String => item.GetString(),
                    JsonValueKind.Object when item.TryGetProperty("id", out var v) && v.ValueKind == JsonValueKind.String => v.GetString(),
                    _ => null,
                };
                if (string.IsNullOrEmpty(id))
                {
                    return null;
                }

                ids.Add(id);
            }

            return ids;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every remix, edit and extension request received, as (operation, source id, prompt, seconds), in order.</summary>
    public IReadOnlyList<(string Operation, string SourceId, string Prompt, string? Seconds)> DerivedRequests => [.. _derived];

    private readonly ConcurrentQueue<(string Operation, string SourceId, string Prompt, string? Seconds)> _derived = new();

    private static readonly string[] ExtensionSeconds = ["4", "8", "12", "16", "20"];

    // POST /v1/videos/{id}/remix {prompt}; POST /v1/videos/edits {prompt, video: {id}}; POST /v1/videos/extensions
    // {prompt, seconds, video: {id}} (JSON, or multipart with video[id] as the npm SDK sends them). The source must be a
    // completed video; a remix and an edit keep its model, size and length, an extension's seconds is the stitched total.
    private async Task DeriveAsync(HttpContext context, string operation, string? pathId)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            foreach (var (key, value) in form)
            {
                fields[key] = value.ToString();
            }
        }
        else
        {
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name == "video" && property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("id", out var vid))
                    {
                        fields["video[id]"] = vid.GetString() ?? "";
                    }
                    else
                    {
                        fields[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
                    }
                }
            }
            catch (JsonException)
            {
                await WriteOpenAIErrorAsync(context, 400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", null, null).ConfigureAwait(false);
                return;
            }
        }

        if (!fields.TryGetValue("prompt", out var prompt) || string.IsNullOrWhiteSpace(prompt))
        {
            await WriteOpenAIErrorAsync(context, 400, "Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt").ConfigureAwait(false);
            return;
        }

        var sourceId = pathId ?? fields.GetValueOrDefault("video[id]");
        if (string.IsNullOrEmpty(sourceId))
        {
            await WriteOpenAIErrorAsync(context, 400, "Missing required parameter: 'video'.", "missing_required_parameter", "video").ConfigureAwait(false);
            return;
        }

        if (Tasks.Find(sourceId) is not { } source)
        {
            await NotFoundAsync(context, sourceId).ConfigureAwait(false);
            return;
        }

        if (source.At(Now).Phase != TaskPhase.Succeeded)
        {
            await WriteOpenAIErrorAsync(context, 400, $"Video '{sourceId}' is not completed; only completed videos can be used.", "invalid_value", pathId is null ? "video" : "video_id").ConfigureAwait(false);
            return;
        }

        var seconds = source.Seconds;
        string? extension = null;
        if (operation == "extend")
        {
            extension = fields.GetValueOrDefault("seconds");
            if (extension is null || !ExtensionSeconds.Contains(extension))
            {
                await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{extension}'. Supported values are: '4', '8', '12', '16', and '20'.", "invalid_value", "seconds").ConfigureAwait(false);
                return;
            }

            seconds += int.Parse(extension, CultureInfo.InvariantCulture);
        }

        _derived.Enqueue((operation, sourceId, prompt, extension));
        var extra = new Dictionary<string, string>(StringComparer.Ordinal) { ["operation"] = operation, ["source"] = sourceId };
        if (operation == "remix")
        {
            extra["remixed_from_video_id"] = sourceId;
        }

        var task = AddTask(NextId("video_"), source.Model, prompt, source.Width, source.Height, seconds, hasImage: false, extra);
        await WriteJsonAsync(context, Video(task)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override Task WriteErrorAsync(HttpContext context, int status, string message, string code) =>
        WriteOpenAIErrorAsync(context, status, message, code, null);

    private Task WriteOpenAIErrorAsync(HttpContext context, int status, string message, string? code, string? param)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The kernel's generic faults in OpenAI's own words.
        string type;
        (status, message, type, code) = (status, code) switch
        {
            (403, "forbidden") => (429, "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota"),
            (401, _) => (401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
            (429, _) => (429, "Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
            (>= 500, _) => (status, "The server had an error while processing your request. Sorry about that!", "server_error", null),
            (404, _) => (404, message, "invalid_request_error", code),
            _ => (status, message, "invalid_request_error", code),
        };
        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
        };
        return WriteJsonAsync(context, status, body);
    }

    private async Task CreateAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Submit).ConfigureAwait(false))
        {
            return;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var formCharacters = new List<string>();
        byte[]? image = null;
        string? imageDescription = null;
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            foreach (var (key, value) in form)
            {
                if (key is "characters" or "characters[]" || (key.StartsWith("characters[", StringComparison.Ordinal) && key.EndsWith("[id]", StringComparison.Ordinal)))
                {
                    formCharacters.AddRange(value.OfType<string>());
                    continue;
                }

                fields[key] = value.ToString();
            }

            foreach (var file in form.Files)
            {
                if (file.Name != "input_reference")
                {
                    fields[file.Name] = "(file)";
                    continue;
                }

                using var buffer = new MemoryStream();
                await file.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                image = buffer.ToArray();
                var size = ImageSize(image);
                imageDescription = $"file {file.ContentType} {file.FileName} {(size is { } s ? $"{s.Width}x{s.Height}" : "unknown-size")}";
            }
        }
        else
        {
            if (await ReadJsonAsync(context).ConfigureAwait(false) is not { } root)
            {
                await WriteOpenAIErrorAsync(context, 400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", null, null).ConfigureAwait(false);
                return;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "input_reference" && property.Value.ValueKind == JsonValueKind.Object
                    && property.Value.TryGetProperty("image_url", out var url) && url.ValueKind == JsonValueKind.String)
                {
                    image = DecodeImage(url.GetString());
                    var size = image is null ? null : ImageSize(image);
                    imageDescription = $"image_url {(size is { } s ? $"{s.Width}x{s.Height}" : "unknown-size")}";
                }
                else
                {
                    fields[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
                }
            }
        }

        if (fields.Keys.FirstOrDefault(k => !Fields.Contains(k)) is { } unknown)
        {
            await WriteOpenAIErrorAsync(context, 400, $"Unrecognized request argument supplied: {unknown}", "unknown_parameter", unknown).ConfigureAwait(false);
            return;
        }

        if (!fields.TryGetValue("prompt", out var prompt) || string.IsNullOrWhiteSpace(prompt))
        {
            await WriteOpenAIErrorAsync(context, 400, "Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt").ConfigureAwait(false);
            return;
        }

        var model = fields.GetValueOrDefault("model") ?? "sora-2";
        string[] sizes;
        if (model.StartsWith("sora-2-pro", StringComparison.Ordinal))
        {
            sizes = ProSizes;
        }
        else if (model.StartsWith("sora-2", StringComparison.Ordinal))
        {
            sizes = Sizes;
        }
        else
        {
            await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{model}'. Supported values are: 'sora-2' and 'sora-2-pro'.", "invalid_value", "model").ConfigureAwait(false);
            return;
        }

        var secondsText = fields.GetValueOrDefault("seconds") ?? "4";
        if (!Seconds.Contains(secondsText))
        {
            await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{secondsText}'. Supported values are: '4', '8', and '12'.", "invalid_value", "seconds").ConfigureAwait(false);
            return;
        }

        var sizeText = fields.GetValueOrDefault("size") ?? "720x1280";
        if (!sizes.Contains(sizeText))
        {
            await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{sizeText}'. Supported values are: {string.Join(", ", sizes.Select(s => $"'{s}'"))}.", "invalid_value", "size").ConfigureAwait(false);
            return;
        }

        // Characters are named by the ids this server gave them; an unknown one is refused, as the upstream would.
        fields.Remove("characters", out var charactersJson);
        if (CharacterIds(charactersJson, formCharacters) is not { } characterIds)
        {
            await WriteOpenAIErrorAsync(context, 400, "Invalid 'characters': an array of {\"id\": \"char_…\"} objects is expected.", "invalid_value", "characters").ConfigureAwait(false);
            return;
        }

        var used = new List<EmulatedCharacter>();
        foreach (var characterId in characterIds)
        {
            if (!_characters.TryGetValue(characterId, out var character))
            {
                await WriteOpenAIErrorAsync(context, 400, $"Character '{characterId}' not found.", "invalid_value", "characters").ConfigureAwait(false);
                return;
            }

            used.Add(character);
        }

        var parts = sizeText.Split('x');
        var (width, height) = (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        if (image is not null && Faults.RequireExactFirstFrameSize && ImageSize(image) is { } actual && actual != (width, height))
        {
            await WriteOpenAIErrorAsync(context, 400, "Inpaint image must match the requested width and height", "invalid_value", "input_reference").ConfigureAwait(false);
            return;
        }

        var extra = new Dictionary<string, string>(fields, StringComparer.Ordinal);
        if (imageDescription is not null)
        {
            extra["input_reference"] = imageDescription;
        }

        if (used.Count > 0)
        {
            // The emulator's record of what the video shows: the characters by id and by name.
            extra["characters"] = string.Join(", ", used.Select(c => $"{c.Id} ({c.Name})"));
        }

        var task = AddTask(NextId("video_"), model, prompt, width, height, int.Parse(secondsText, CultureInfo.InvariantCulture), image is not null, extra);
        await WriteJsonAsync(context, Video(task)).ConfigureAwait(false);
    }

    private async Task RetrieveAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Poll).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await NotFoundAsync(context, id).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, Video(task)).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext context)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        var limit = int.TryParse(context.Request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 100) : 20;
        var order = context.Request.Query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
        {
            await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "invalid_value", "order").ConfigureAwait(false);
            return;
        }

        // Newest first unless asked otherwise; `after` is a cursor: the id of the last video of the previous page.
        var all = Tasks.All.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id, StringComparer.Ordinal).ToList();
        if (order == "asc")
        {
            all.Reverse();
        }

        if (context.Request.Query["after"].ToString() is { Length: > 0 } after)
        {
            var index = all.FindIndex(t => t.Id == after);
            all = index < 0 ? [] : all[(index + 1)..];
        }

        var page = all.Take(limit).Select(Video).ToList();
        var data = new JsonArray([.. page]);
        var list = new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["first_id"] = page.Count > 0 ? page[0]["id"]!.GetValue<string>() : null,
            ["last_id"] = page.Count > 0 ? page[^1]["id"]!.GetValue<string>() : null,
            ["has_more"] = all.Count > limit,
        };
        await WriteJsonAsync(context, list).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, string id)
    {
        if (!await AdmitAsync(context, FaultScope.Any).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await NotFoundAsync(context, id).ConfigureAwait(false);
            return;
        }

        if (task.At(Now).Phase is TaskPhase.Queued or TaskPhase.Running)
        {
            await WriteOpenAIErrorAsync(context, 400, "Only a completed or failed video can be deleted.", "invalid_request", "video_id").ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, new JsonObject { ["id"] = id, ["object"] = "video.deleted", ["deleted"] = true }).ConfigureAwait(false);
    }

    private async Task ContentAsync(HttpContext context, string id)
    {
        _contentAccept.Enqueue(context.Request.Headers.Accept.ToString());
        if (!await AdmitAsync(context, FaultScope.Download).ConfigureAwait(false))
        {
            return;
        }

        if (Tasks.Find(id) is not { } task)
        {
            await NotFoundAsync(context, id).ConfigureAwait(false);
            return;
        }

        var variant = context.Request.Query["variant"].ToString();
        if (variant is not ("" or "video"))
        {
            await WriteOpenAIErrorAsync(context, 400, $"Invalid value: '{variant}'. This emulator serves only the 'video' variant.", "invalid_value", "variant").ConfigureAwait(false);
            return;
        }

        var (phase, _) = task.At(Now);
        if (phase != TaskPhase.Succeeded)
        {
            await WriteOpenAIErrorAsync(context, 400, $"task is not completed yet, current status: {Status(phase)}", null, null).ConfigureAwait(false);
            return;
        }

        if (Faults.ExpiredResultUrls)
        {
            await WriteOpenAIErrorAsync(context, 404, $"The content of video {id} has expired.", "video_expired", null).ConfigureAwait(false);
            return;
        }

        var path = await Videos.GetAsync(task.Width, task.Height, task.Seconds).ConfigureAwait(false);
        await Results.File(path, "video/mp4", enableRangeProcessing: true).ExecuteAsync(context).ConfigureAwait(false);
    }

    private JsonObject Video(EmulatedTask task)
    {
        var now = Now;
        var (phase, progress) = task.At(now);
        var finished = task.FinishedAt(now);
        var video = new JsonObject
        {
            ["id"] = task.Id,
            ["object"] = "video",
            ["model"] = task.Model,
            ["status"] = Status(phase),
            ["progress"] = progress,
            ["created_at"] = task.CreatedAt.ToUnixTimeSeconds(),
            ["completed_at"] = finished?.ToUnixTimeSeconds(),
            ["expires_at"] = phase == TaskPhase.Succeeded && finished is { } done
                ? (Faults.ExpiredResultUrls ? now.AddMinutes(-1) : done + Options.ResultUrlLifetime).ToUnixTimeSeconds()
                : null,
            ["seconds"] = task.Seconds.ToString(CultureInfo.InvariantCulture),
            ["size"] = $"{task.Width}x{task.Height}",
            ["prompt"] = task.Prompt,
            ["remixed_from_video_id"] = task.Extra.GetValueOrDefault("remixed_from_video_id"),
            ["error"] = null,
        };
        if (phase == TaskPhase.Failed)
        {
            video["error"] = task.CancelledAt is not null
                ? new JsonObject { ["code"] = "cancelled", ["message"] = "The video was cancelled." }
                : task.Ending == TaskEnding.ModerationAtNinety
                    ? new JsonObject { ["code"] = "moderation_blocked", ["message"] = "Your request was blocked by our moderation system." }
                    : new JsonObject { ["code"] = "video_generation_failed", ["message"] = "Video generation failed, please try again." };
        }

        return video;
    }

    private static string Status(TaskPhase phase) => phase switch
    {
        TaskPhase.Queued => "queued",
        TaskPhase.Running => "in_progress",
        TaskPhase.Succeeded => "completed",
        _ => "failed",
    };

    private Task NotFoundAsync(HttpContext context, string id) =>
        WriteOpenAIErrorAsync(context, 404, $"Video with id '{id}' not found.", "not_found", "video_id");

    private static Task WriteJsonAsync(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }
}
