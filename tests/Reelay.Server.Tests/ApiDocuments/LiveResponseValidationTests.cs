using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Reelay.Server.Tests.ApiDocuments;

/// <summary>
/// Live responses of a running gateway, for every documented operation and its error envelope, validated against the
/// response schema their document gives for that path, method and status (JsonSchema.Net, JSON Schema 2020-12).
/// </summary>
public sealed class LiveResponseValidationTests(ApiDocumentServer fixture) : IClassFixture<ApiDocumentServer>
{
    private string Key => fixture.Server.ApiKey;

    private string Done => fixture.CompletedJobId;

    /// <summary>Sends a request and validates its answer against (path template, method, status) of the document.</summary>
    private async Task<JsonElement> CheckAsync(string document, string template, HttpMethod method, string url, int expectedStatus, HttpContent? content = null, string? authorization = "Bearer")
    {
        var doc = await fixture.DocumentAsync(document);
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (authorization == "Bearer")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        }
        else if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedStatus, $"{method} {url}: expected {expectedStatus}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("application/json", doc.ResponseMediaTypes(template, method.Method, expectedStatus));
        using var body = JsonDocument.Parse(text);
        doc.AssertResponse(template, method.Method, expectedStatus, body.RootElement);
        return body.RootElement.Clone();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task OpenAI_RemixEditsExtensionsCharacters_MatchTheDocument()
    {
        const string D = "openai";
        var remix = await CheckAsync(D, "/v1/videos/{video_id}/remix", HttpMethod.Post, $"/v1/videos/{Done}/remix", 200, Json("""{"prompt":"remixed"}"""));
        Assert.Equal(Done, remix.GetProperty("remixed_from_video_id").GetString());
        await CheckAsync(D, "/v1/videos/edits", HttpMethod.Post, "/v1/videos/edits", 200, Json($$$"""{"prompt":"edited","video":{"id":"{{{Done}}}"}}"""));
        using var extend = new MultipartFormDataContent { { new StringContent("extended"), "prompt" }, { new StringContent("1"), "seconds" }, { new StringContent(Done), "video[id]" } };
        await CheckAsync(D, "/v1/videos/extensions", HttpMethod.Post, "/v1/videos/extensions", 200, extend);
        using var character = new MultipartFormDataContent { { new StringContent("Documented"), "name" }, { new ByteArrayContent(await Support.TestFiles.ImageAsync(16, 16)), "video", "c.png" } };
        var created = await CheckAsync(D, "/v1/videos/characters", HttpMethod.Post, "/v1/videos/characters", 200, character);
        var id = created.GetProperty("id").GetString();
        await CheckAsync(D, "/v1/videos/characters/{character_id}", HttpMethod.Get, $"/v1/videos/characters/{id}", 200);

        await CheckAsync(D, "/v1/videos/{video_id}/remix", HttpMethod.Post, "/v1/videos/video_nope/remix", 404, Json("""{"prompt":"x"}"""));
        await CheckAsync(D, "/v1/videos/edits", HttpMethod.Post, "/v1/videos/edits", 400, Json("""{"prompt":"x"}"""));
        await CheckAsync(D, "/v1/videos/extensions", HttpMethod.Post, "/v1/videos/extensions", 400, Json($$$"""{"prompt":"x","video":{"id":"{{{Done}}}"}}"""));
        await CheckAsync(D, "/v1/videos/characters", HttpMethod.Post, "/v1/videos/characters", 400, Json("{}"));
        await CheckAsync(D, "/v1/videos/characters/{character_id}", HttpMethod.Get, "/v1/videos/characters/char_nope", 404);
    }

    private static readonly Lazy<OpenApiJson> Published = new(() =>
        OpenApiJson.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ApiDocuments", "Fixtures", "openai-videos.openapi.json"))));

    /// <summary>
    /// Sends a request and validates its answer against OpenAI's published document (the fixture excerpt): a 200 against
    /// the operation's response schema (path without /v1), any other status against OpenAI's ErrorResponse. A JSON request
    /// body is first checked against the operation's published request schema, so the test sends what OpenAI documents.
    /// </summary>
    private async Task<JsonElement> CheckPublishedAsync(string template, HttpMethod method, string url, int expectedStatus, string? json = null, HttpContent? form = null)
    {
        var published = Published.Value;
        if (json is not null)
        {
            var requestSchema = published.Operation(template, method.Method)["requestBody"]!["content"]!["application/json"]!["schema"]!;
            using var sent = JsonDocument.Parse(json);
            var requestErrors = published.Errors(requestSchema, sent.RootElement);
            Assert.True(requestErrors.Count == 0, $"The test's own {method} {template} body breaks OpenAI's schema: {string.Join("; ", requestErrors)}");
        }

        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var request = new HttpRequestMessage(method, url) { Content = json is null ? form : Json(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedStatus, $"{method} {url}: expected {expectedStatus}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(text);
        if (expectedStatus == 200)
        {
            published.AssertResponse(template, method.Method, 200, body.RootElement);
        }
        else
        {
            var errors = published.Errors(published.Schemas["ErrorResponse"]!, body.RootElement);
            Assert.True(errors.Count == 0, $"{method} {url} {expectedStatus} is not OpenAI's ErrorResponse:\n{string.Join("\n", errors)}\nbody: {text}");
        }

        return body.RootElement.Clone();
    }

    [Fact]
    public async Task OpenAI_AllTenOperations_MatchOpenAIsPublishedDocument()
    {
        // A source at a size and length OpenAI lists (VideoSize, VideoSeconds); the sandbox renders any.
        var source = await CheckPublishedAsync("/videos", HttpMethod.Post, "/v1/videos", 200, """{"model":"sandbox","prompt":"published","seconds":"4","size":"1280x720"}""");
        var sourceId = source.GetProperty("id").GetString()!;
        await fixture.WaitForAsync(sourceId, "completed");
        using var form = new MultipartFormDataContent { { new StringContent("sandbox"), "model" }, { new StringContent("multipart"), "prompt" }, { new StringContent("4"), "seconds" }, { new StringContent("720x1280"), "size" } };
        var multipart = await CheckPublishedAsync("/videos", HttpMethod.Post, "/v1/videos", 200, form: form);
        await CheckPublishedAsync("/videos", HttpMethod.Get, "/v1/videos?limit=2&order=desc", 200);
        await CheckPublishedAsync("/videos/{video_id}", HttpMethod.Get, $"/v1/videos/{sourceId}", 200);

        var derived = new List<string>();
        var remix = await CheckPublishedAsync("/videos/{video_id}/remix", HttpMethod.Post, $"/v1/videos/{sourceId}/remix", 200, """{"prompt":"remixed"}""");
        Assert.Equal(sourceId, remix.GetProperty("remixed_from_video_id").GetString());
        var edit = await CheckPublishedAsync("/videos/edits", HttpMethod.Post, "/v1/videos/edits", 200, $$$"""{"prompt":"edited","video":{"id":"{{{sourceId}}}"}}""");
        var extended = await CheckPublishedAsync("/videos/extensions", HttpMethod.Post, "/v1/videos/extensions", 200, $$$"""{"prompt":"extended","seconds":"4","video":{"id":"{{{sourceId}}}"}}""");
        Assert.Equal("8", extended.GetProperty("seconds").GetString()); // "For extensions, this is the stitched total duration."
        using var extendForm = new MultipartFormDataContent { { new StringContent("extended again"), "prompt" }, { new StringContent("4"), "seconds" }, { new StringContent(sourceId), "video[id]" } };
        var extendedAgain = await CheckPublishedAsync("/videos/extensions", HttpMethod.Post, "/v1/videos/extensions", 200, form: extendForm);
        derived.AddRange([remix.GetProperty("id").GetString()!, edit.GetProperty("id").GetString()!, extended.GetProperty("id").GetString()!, extendedAgain.GetProperty("id").GetString()!]);
        using var character = new MultipartFormDataContent { { new StringContent("Published"), "name" }, { new ByteArrayContent(await Support.TestFiles.ImageAsync(16, 16)), "video", "c.png" } };
        var created = await CheckPublishedAsync("/videos/characters", HttpMethod.Post, "/v1/videos/characters", 200, form: character);
        await CheckPublishedAsync("/videos/characters/{character_id}", HttpMethod.Get, $"/v1/videos/characters/{created.GetProperty("id").GetString()}", 200);

        // Delete the multipart job (cancelled first if still running): OpenAI's DeletedVideoResource.
        var multipartId = multipart.GetProperty("id").GetString()!;
        using (await fixture.Server.Http.PostAsync($"/v1/videos/{multipartId}/cancel", null))
        {
        }

        await CheckPublishedAsync("/videos/{video_id}", HttpMethod.Delete, $"/v1/videos/{multipartId}", 200);

        // Errors of the new operations, in OpenAI's ErrorResponse.
        await CheckPublishedAsync("/videos/{video_id}/remix", HttpMethod.Post, "/v1/videos/video_nope/remix", 404, """{"prompt":"x"}""");
        await CheckPublishedAsync("/videos/edits", HttpMethod.Post, "/v1/videos/edits", 404, """{"prompt":"x","video":{"id":"video_nope"}}""");
        await CheckPublishedAsync("/videos/extensions", HttpMethod.Post, "/v1/videos/extensions", 404, $$$"""{"prompt":"x","seconds":"4","video":{"id":"{{{multipartId}}}"}}""");
        await CheckPublishedAsync("/videos", HttpMethod.Post, "/v1/videos", 400, """{"model":"sora-2","prompt":"no deployment serves it here"}""");
        await CheckPublishedAsync("/videos/characters/{character_id}", HttpMethod.Get, "/v1/videos/characters/char_nope", 404);
        await CheckPublishedAsync("/videos/{video_id}/content", HttpMethod.Get, "/v1/videos/video_nope/content", 404);

        // The derived jobs are not needed any more: free the shared machine's cores.
        foreach (var id in derived)
        {
            using (await fixture.Server.Http.PostAsync($"/v1/videos/{id}/cancel", null))
            {
            }
        }
    }

    [Fact]
    public async Task OpenAI_EveryOperationAndError_MatchesTheDocument()
    {
        const string D = "openai";
        var created = await CheckAsync(D, "/v1/videos", HttpMethod.Post, "/v1/videos", 200, Json("""{"model":"sandbox","prompt":"json body","seconds":"1","size":"64x64","metadata":{"a":"b"}}"""));
        using var form = new MultipartFormDataContent { { new StringContent("sandbox"), "model" }, { new StringContent("multipart body"), "prompt" }, { new StringContent("1"), "seconds" }, { new StringContent("64x64"), "size" } };
        await CheckAsync(D, "/v1/videos", HttpMethod.Post, "/v1/videos", 200, form);
        await CheckAsync(D, "/v1/videos", HttpMethod.Get, "/v1/videos?limit=5&order=asc", 200);
        var done = await CheckAsync(D, "/v1/videos/{video_id}", HttpMethod.Get, $"/v1/videos/{Done}", 200);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        await CheckAsync(D, "/v1/models", HttpMethod.Get, "/v1/models", 200);

        // Cancel a long job at once, then delete it: both documented shapes.
        var longJob = await fixture.CreateAsync("""{"model":"sandbox","prompt":"to cancel","seconds":"20","size":"1920x1080"}""");
        await CheckAsync(D, "/v1/videos/{video_id}/cancel", HttpMethod.Post, $"/v1/videos/{longJob}/cancel", 200);
        await CheckAsync(D, "/v1/videos/{video_id}", HttpMethod.Delete, $"/v1/videos/{longJob}", 200);

        // The content: status and media type as documented.
        var doc = await fixture.DocumentAsync(D);
        foreach (var (variant, media) in new[] { ("video", "video/mp4"), ("thumbnail", "image/webp") })
        {
            using var content = await fixture.Server.Http.GetAsync($"/v1/videos/{Done}/content?variant={variant}");
            Assert.Equal(200, (int)content.StatusCode);
            Assert.Equal(media, content.Content.Headers.ContentType?.MediaType);
            Assert.Contains(media, doc.ResponseMediaTypes("/v1/videos/{video_id}/content", "GET", 200));
        }

        // The error envelope, for each class of error a client meets.
        await CheckAsync(D, "/v1/videos", HttpMethod.Post, "/v1/videos", 401, Json("{}"), authorization: null);
        await CheckAsync(D, "/v1/videos", HttpMethod.Post, "/v1/videos", 400, Json("""{"model":"sandbox","prompt":"x","seconds":"99"}"""));
        await CheckAsync(D, "/v1/videos", HttpMethod.Get, "/v1/videos?limit=0", 400);
        await CheckAsync(D, "/v1/videos/{video_id}", HttpMethod.Get, "/v1/videos/video_nope", 404);
        await CheckAsync(D, "/v1/videos/{video_id}", HttpMethod.Delete, "/v1/videos/video_nope", 404);
        await CheckAsync(D, "/v1/videos/{video_id}/content", HttpMethod.Get, $"/v1/videos/{Done}/content?variant=poster", 400);
        await CheckAsync(D, "/v1/videos/{video_id}/content", HttpMethod.Get, "/v1/videos/video_nope/content", 404);
        await CheckAsync(D, "/v1/videos/{video_id}/cancel", HttpMethod.Post, $"/v1/videos/{Done}/cancel", 409);

        // Reelay's webhook routes, under the same envelope.
        await CheckAsync(D, "/v1/webhooks/secret", HttpMethod.Get, "/v1/webhooks/secret", 200);
        await CheckAsync(D, "/v1/webhooks/secret/rotate", HttpMethod.Post, "/v1/webhooks/secret/rotate", 200);
        var rotated = await CheckAsync(D, "/v1/webhooks/secret", HttpMethod.Get, "/v1/webhooks/secret", 200);
        Assert.Equal(JsonValueKind.Number, rotated.GetProperty("previous_secret_expires_at").ValueKind);
        await CheckAsync(D, "/v1/videos/{video_id}/webhooks", HttpMethod.Get, $"/v1/videos/{Done}/webhooks", 200);
        await CheckAsync(D, "/v1/videos/{video_id}/webhooks", HttpMethod.Get, "/v1/videos/video_nope/webhooks", 404);
        await CheckAsync(D, "/v1/webhooks/secret", HttpMethod.Get, "/v1/webhooks/secret", 401, authorization: null);
        Assert.NotEmpty(created.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task ModelVerse_EveryOperationAndError_MatchesTheDocument()
    {
        const string D = "modelverse";
        await CheckAsync(D, "/v1/tasks/submit", HttpMethod.Post, "/v1/tasks/submit", 200, Json("""{"model":"sandbox","input":{"prompt":"documents"},"parameters":{"size":"64x64","duration":1}}"""), authorization: Key);
        var status = await CheckAsync(D, "/v1/tasks/status", HttpMethod.Get, $"/v1/tasks/status?task_id={Done}", 200, authorization: Key);
        Assert.Equal("Success", status.GetProperty("output").GetProperty("task_status").GetString());

        await CheckAsync(D, "/v1/tasks/submit", HttpMethod.Post, "/v1/tasks/submit", 401, Json("{}"), authorization: null);
        await CheckAsync(D, "/v1/tasks/submit", HttpMethod.Post, "/v1/tasks/submit", 400, Json("""{"model":"sandbox","input":{"prompt":"x"},"parameters":{"duration":99}}"""), authorization: Key);
        await CheckAsync(D, "/v1/tasks/status", HttpMethod.Get, "/v1/tasks/status", 400, authorization: Key);
        await CheckAsync(D, "/v1/tasks/status", HttpMethod.Get, "/v1/tasks/status?task_id=video_nope", 404, authorization: Key);
    }

    [Fact]
    public async Task AimlApi_EveryOperationAndError_MatchesTheDocument()
    {
        const string D = "aimlapi";
        var queued = await CheckAsync(D, "/v2/video/generations", HttpMethod.Post, "/v2/video/generations", 200, Json("""{"model":"sandbox","prompt":"documents","duration":1,"resolution":"360p"}"""));
        Assert.Equal(JsonValueKind.Null, queued.GetProperty("video").ValueKind);
        var done = await CheckAsync(D, "/v2/video/generations", HttpMethod.Get, $"/v2/video/generations?generation_id={Done}", 200);
        Assert.Equal("completed", done.GetProperty("status").GetString());

        await CheckAsync(D, "/v2/video/generations", HttpMethod.Post, "/v2/video/generations", 401, Json("{}"), authorization: null);
        await CheckAsync(D, "/v2/video/generations", HttpMethod.Post, "/v2/video/generations", 400, Json("""{"model":"sandbox","prompt":"x","duration":60}"""));
        await CheckAsync(D, "/v2/video/generations", HttpMethod.Get, "/v2/video/generations", 400);
        await CheckAsync(D, "/v2/video/generations", HttpMethod.Get, "/v2/video/generations?generation_id=video_nope", 404);
    }

    [Fact]
    public async Task SoraRelay_EveryOperationAndError_MatchesTheDocument()
    {
        const string D = "sorarelay";
        await CheckAsync(D, "/v2/videos/generations", HttpMethod.Post, "/v2/videos/generations", 200, Json("""{"model":"sandbox","prompt":"documents","duration":"1","aspect_ratio":"16:9"}"""));
        var done = await CheckAsync(D, "/v2/videos/generations/{task_id}", HttpMethod.Get, $"/v2/videos/generations/{Done}", 200);
        Assert.Equal("SUCCESS", done.GetProperty("status").GetString());

        await CheckAsync(D, "/v2/videos/generations", HttpMethod.Post, "/v2/videos/generations", 401, Json("{}"), authorization: null);
        await CheckAsync(D, "/v2/videos/generations", HttpMethod.Post, "/v2/videos/generations", 400, Json("""{"model":"sandbox","prompt":"x","duration":"99"}"""));
        await CheckAsync(D, "/v2/videos/generations/{task_id}", HttpMethod.Get, "/v2/videos/generations/video_nope", 404);
    }

    [Fact]
    public async Task Admin_EveryOperationAndError_MatchesTheDocument()
    {
        const string D = "admin";
        var key = await CheckAsync(D, "/admin/keys", HttpMethod.Post, "/admin/keys", 201, Json("""{"name":"documents","models":["sandbox"],"budget_usd":5,"rate_limit_per_minute":30}"""));
        var id = key.GetProperty("id").GetString()!;
        var secret = key.GetProperty("key").GetString()!;
        await CheckAsync(D, "/admin/keys", HttpMethod.Get, "/admin/keys", 200);
        await CheckAsync(D, "/admin/keys/{id}", HttpMethod.Get, $"/admin/keys/{id}", 200);
        await CheckAsync(D, "/admin/keys/{id}", HttpMethod.Patch, $"/admin/keys/{id}", 200, Json("""{"name":"renamed","max_jobs_in_flight":2}"""));
        await CheckAsync(D, "/admin/usage", HttpMethod.Get, "/admin/usage", 200);
        await CheckAsync(D, "/admin/charges", HttpMethod.Get, "/admin/charges?limit=10", 200);
        await CheckAsync(D, "/admin/charges/{jobId}", HttpMethod.Get, $"/admin/charges/{Done}", 200);
        await CheckAsync(D, "/admin/charges/{jobId}/settle", HttpMethod.Post, $"/admin/charges/{Done}/settle", 409);
        await CheckAsync(D, "/admin/charges/{jobId}/release", HttpMethod.Post, $"/admin/charges/{Done}/release", 409);
        await CheckAsync(D, "/v1/usage", HttpMethod.Get, "/v1/usage", 200, authorization: "Bearer " + secret);
        await CheckAsync(D, "/admin/providers", HttpMethod.Get, "/admin/providers", 200);
        await CheckAsync(D, "/admin/providers", HttpMethod.Get, "/admin/providers", 403, authorization: "Bearer " + secret);

        await CheckAsync(D, "/admin/keys", HttpMethod.Get, "/admin/keys", 401, authorization: null);
        await CheckAsync(D, "/admin/keys", HttpMethod.Get, "/admin/keys", 403, authorization: "Bearer " + secret);
        await CheckAsync(D, "/admin/keys", HttpMethod.Post, "/admin/keys", 400, Json("""{"scope":"client"}"""));
        await CheckAsync(D, "/admin/keys/{id}", HttpMethod.Get, "/admin/keys/key_nope", 404);
        await CheckAsync(D, "/admin/charges/{jobId}", HttpMethod.Get, "/admin/charges/video_nope", 404);
        await CheckAsync(D, "/admin/keys/{id}", HttpMethod.Delete, $"/admin/keys/{id}", 200);
    }
}
