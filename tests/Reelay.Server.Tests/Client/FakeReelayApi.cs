using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Reelay.Server.Tests.Client;

/// <summary>A request as the fake saw it.</summary>
internal sealed record FakeRequest(string Method, string Path, string Query, string? Authorization, string? ContentType, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? QueryValue(string name) =>
        QueryHelpers.ParseQuery(Query).TryGetValue(name, out var v) ? v.ToString() : null;
}

/// <summary>A response from the fake.</summary>
internal sealed record FakeResponse(int Status, string ContentType, byte[] Body, TimeSpan? RetryAfter = null)
{
    public static FakeResponse Json(int status, JsonNode node) => new(status, "application/json", Encoding.UTF8.GetBytes(node.ToJsonString()));
}

/// <summary>
/// A small in-memory implementation of Reelay's /v1/videos wire API, independent of the server under construction:
/// create (JSON or multipart), get (each read advances a job by one step), list with a cursor, delete, cancel,
/// content and models. Records every request. Thread-safe.
/// </summary>
internal sealed class FakeReelayApi
{
    private readonly ConcurrentDictionary<string, FakeVideo> _videos = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private long _sequence;

    /// <summary>When set, requests must carry <c>Bearer</c> and this key; a function so it can read live configuration.</summary>
    public Func<string?>? RequiredKey { get; set; }

    /// <summary>GETs a job takes from queued to its final status.</summary>
    public int StepsToFinish { get; set; } = 3;

    /// <summary>The status a job ends in.</summary>
    public string FinalStatus { get; set; } = "completed";

    /// <summary>Default page size for list.</summary>
    public int DefaultLimit { get; set; } = 20;

    public byte[] VideoBytes { get; set; } = Encoding.ASCII.GetBytes("....ftypisom fake mp4 bytes");

    public byte[] ThumbnailBytes { get; set; } = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];

    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    /// <summary>The parsed create requests: field name to value, and the uploaded file if any.</summary>
    public ConcurrentQueue<CreateCall> Creates { get; } = new();

    public FakeVideo AddVideo(string status = "queued", int progress = 0)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var video = new FakeVideo
        {
            Id = "video_" + sequence.ToString("x32", CultureInfo.InvariantCulture),
            Sequence = sequence,
            Status = status,
            Progress = progress,
            CreatedAt = 1_700_000_000 + sequence,
        };
        _videos[video.Id] = video;
        return video;
    }

    public FakeVideo? Find(string id) => _videos.GetValueOrDefault(id);

    public async Task<FakeResponse> HandleAsync(FakeRequest request)
    {
        _requests.Enqueue(request);
        if (RequiredKey is { } required && request.Authorization != "Bearer " + required())
        {
            return Error(401, "authentication_error", "unauthorized", "Invalid or missing API key.", null);
        }

        var segments = request.Path.Trim('/').Split('/');
        return (request.Method, segments) switch
        {
            ("GET", ["v1", "models"]) => Models(),
            ("POST", ["v1", "videos"]) => await CreateAsync(request),
            ("GET", ["v1", "videos"]) => List(request),
            ("GET", ["v1", "videos", var id]) => Get(id),
            ("DELETE", ["v1", "videos", var id]) => Delete(id),
            ("POST", ["v1", "videos", var id, "cancel"]) => Cancel(id),
            ("GET", ["v1", "videos", var id, "content"]) => Content(id, request.QueryValue("variant") ?? "video"),
            _ => Error(404, "not_found_error", "not_found", $"No route for {request.Method} {request.Path}.", null),
        };
    }

    public static FakeResponse Error(int status, string type, string code, string message, string? param) =>
        FakeResponse.Json(status, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
        });

    public static JsonObject Render(FakeVideo v) => new()
    {
        ["id"] = v.Id,
        ["object"] = "video",
        ["model"] = v.Model,
        ["status"] = v.Status,
        ["progress"] = v.Progress,
        ["created_at"] = v.CreatedAt,
        ["completed_at"] = v.Status is "completed" or "failed" or "cancelled" ? v.CreatedAt + 10 : null,
        ["expires_at"] = null,
        ["seconds"] = v.Seconds,
        ["size"] = v.Size,
        ["prompt"] = v.Prompt,
        ["remixed_from_video_id"] = null,
        ["error"] = v.Status == "failed" ? new JsonObject { ["code"] = "moderation_blocked", ["message"] = "The prompt was blocked." } : null,
        ["queue_position"] = v.Status == "queued" ? 1 : null,
        ["note"] = v.Note,
    };

    private static FakeResponse Models() => FakeResponse.Json(200, new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray(new JsonObject
        {
            ["id"] = "sandbox",
            ["object"] = "model",
            ["owned_by"] = "reelay",
            ["description"] = "Local ffmpeg renderer.",
            ["modes"] = new JsonArray("t2v", "i2v"),
            ["durations"] = "1 to 20",
            ["sizes"] = "any even WxH up to 1920x1920",
        }),
    });

    private async Task<FakeResponse> CreateAsync(FakeRequest request)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        UploadedFile? file = null;
        var contentType = request.ContentType ?? "";
        if (contentType.StartsWith("application/json", StringComparison.Ordinal))
        {
            using var doc = JsonDocument.Parse(request.Body);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                fields[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }
        else if (contentType.StartsWith("multipart/form-data", StringComparison.Ordinal))
        {
            var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(contentType).Boundary).Value!;
            var reader = new MultipartReader(boundary, new MemoryStream(request.Body));
            while (await reader.ReadNextSectionAsync() is { } section)
            {
                var disposition = ContentDispositionHeaderValue.Parse(section.ContentDisposition);
                using var buffer = new MemoryStream();
                await section.Body.CopyToAsync(buffer);
                if (disposition.FileName.HasValue || disposition.FileNameStar.HasValue)
                {
                    file = new UploadedFile(disposition.Name.Value!, (disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value!, section.ContentType, buffer.ToArray());
                }
                else
                {
                    fields[HeaderUtilities.RemoveQuotes(disposition.Name).Value!] = Encoding.UTF8.GetString(buffer.ToArray());
                }
            }
        }
        else
        {
            return Error(415, "invalid_request_error", "invalid_request", "Send JSON or multipart/form-data.", null);
        }

        Creates.Enqueue(new CreateCall(contentType, fields, file));
        if (!fields.TryGetValue("prompt", out var prompt) && file is null && !fields.ContainsKey("input_reference"))
        {
            return Error(400, "invalid_request_error", "invalid_request", "'prompt' is required for text-to-video and must not be empty.", "prompt");
        }

        var video = AddVideo();
        video.Model = fields.GetValueOrDefault("model") ?? "sandbox";
        video.Prompt = prompt;
        video.Seconds = fields.GetValueOrDefault("seconds") ?? "4";
        video.Size = fields.GetValueOrDefault("size") ?? "1280x720";
        return FakeResponse.Json(200, Render(video));
    }

    private FakeResponse Get(string id)
    {
        if (!_videos.TryGetValue(id, out var video))
        {
            return NotFound(id);
        }

        lock (video)
        {
            if (video.Status is "queued" or "in_progress")
            {
                video.Step++;
                if (video.Step >= StepsToFinish)
                {
                    video.Status = FinalStatus;
                    video.Progress = FinalStatus == "completed" ? 100 : video.Progress;
                }
                else
                {
                    video.Status = "in_progress";
                    video.Progress = 100 * video.Step / StepsToFinish;
                }
            }

            return FakeResponse.Json(200, Render(video));
        }
    }

    private FakeResponse List(FakeRequest request)
    {
        var limit = request.QueryValue("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : DefaultLimit;
        var ascending = request.QueryValue("order") == "asc";
        var ordered = ascending ? _videos.Values.OrderBy(v => v.Sequence) : _videos.Values.OrderByDescending(v => v.Sequence);
        var all = ordered.ToList();
        var start = 0;
        if (request.QueryValue("after") is { } after)
        {
            var index = all.FindIndex(v => v.Id == after);
            if (index < 0)
            {
                return NotFound(after);
            }

            start = index + 1;
        }

        var page = all.Skip(start).Take(limit).ToList();
        var data = new JsonArray();
        foreach (var video in page)
        {
            data.Add(Render(video));
        }

        return FakeResponse.Json(200, new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["first_id"] = page.FirstOrDefault()?.Id,
            ["last_id"] = page.LastOrDefault()?.Id,
            ["has_more"] = start + page.Count < all.Count,
        });
    }

    private FakeResponse Delete(string id) =>
        _videos.TryRemove(id, out _)
            ? FakeResponse.Json(200, new JsonObject { ["id"] = id, ["object"] = "video.deleted", ["deleted"] = true })
            : NotFound(id);

    private FakeResponse Cancel(string id)
    {
        if (!_videos.TryGetValue(id, out var video))
        {
            return NotFound(id);
        }

        lock (video)
        {
            if (video.Status is "completed" or "failed")
            {
                return Error(409, "invalid_request_error", "invalid_request", $"Video '{id}' already finished.", null);
            }

            video.Status = "cancelled";
            return FakeResponse.Json(200, Render(video));
        }
    }

    private FakeResponse Content(string id, string variant)
    {
        if (!_videos.TryGetValue(id, out var video))
        {
            return NotFound(id);
        }

        if (video.Status != "completed")
        {
            return Error(409, "invalid_request_error", "invalid_request", $"Video '{id}' is {video.Status}; content is available once it completes.", null);
        }

        return variant == "thumbnail" ? new FakeResponse(200, "image/jpeg", ThumbnailBytes) : new FakeResponse(200, "video/mp4", VideoBytes);
    }

    private static FakeResponse NotFound(string id) => Error(404, "not_found_error", "not_found", $"Video '{id}' was not found.", null);
}

internal sealed class FakeVideo
{
    public required string Id { get; init; }

    public long Sequence { get; init; }

    public long CreatedAt { get; init; }

    public string Model { get; set; } = "sandbox";

    public string Status { get; set; } = "queued";

    public int Progress { get; set; }

    public int Step { get; set; }

    public string? Prompt { get; set; }

    public string Seconds { get; set; } = "4";

    public string Size { get; set; } = "1280x720";

    public string? Note { get; set; }
}

internal sealed record UploadedFile(string FieldName, string FileName, string? ContentType, byte[] Bytes);

internal sealed record CreateCall(string ContentType, IReadOnlyDictionary<string, string> Fields, UploadedFile? File);
