using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Content;

/// <summary>Issue 17 item 5: HEAD, strong ETags, WebP stills, and JSON envelopes for requests no route answers.</summary>
public sealed class ContentHttpTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Http => _server.Http;

    private async Task<JsonElement> CompletedAsync()
    {
        using var created = await Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"head and etag","seconds":"1","size":"160x120"}""", Encoding.UTF8, "application/json"));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            var video = await Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                Assert.Equal("completed", video.GetProperty("status").GetString());
                return video;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not finish");
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(text));
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Theory]
    [InlineData(null, "video/mp4")]
    [InlineData("thumbnail", "image/webp")]
    [InlineData("spritesheet", "image/webp")]
    public async Task Head_OpenAIContent_AnswersLikeGetWithoutBody(string? variant, string mediaType)
    {
        var id = (await CompletedAsync()).GetProperty("id").GetString()!;
        var url = $"/v1/videos/{id}/content" + (variant is null ? "" : $"?variant={variant}");
        using var get = await Http.GetAsync(url);
        var body = await get.Content.ReadAsByteArrayAsync();

        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(mediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Equal(mediaType, get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Equal("bytes", string.Join(',', head.Headers.AcceptRanges));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_SignedContent_AnswersLikeGetWithoutBody()
    {
        var id = (await CompletedAsync()).GetProperty("id").GetString()!;
        var signer = _server.App.Services.GetRequiredService<ContentUrlSigner>();
        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };
        var path = signer.SignedPath(id, ContentVariant.Thumbnail);
        var bytes = await anonymous.GetByteArrayAsync(path);

        using var head = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("image/webp", head.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var forged = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path + "x"));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
    }

    [Fact]
    public async Task Get_LocalContent_HasStrongChecksumETagAndHonoursIfNoneMatch()
    {
        var video = await CompletedAsync();
        var id = video.GetProperty("id").GetString()!;
        using var first = await Http.GetAsync($"/v1/videos/{id}/content");
        var etag = first.Headers.ETag;

        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Equal($"\"{video.GetProperty("sha256").GetString()}\"", etag.Tag);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await Http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var other = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0000\""));
        using var changed = await Http.SendAsync(other);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);

        // The thumbnail's tag is its own checksum, also strong.
        using var thumbnail = await Http.GetAsync($"/v1/videos/{id}/content?variant=thumbnail");
        Assert.False(thumbnail.Headers.ETag!.IsWeak);
        Assert.NotEqual(etag, thumbnail.Headers.ETag);
    }

    [Theory]
    [InlineData("GET", "/v1/nothing/here")]
    [InlineData("POST", "/v1/videos/x/y/z")]
    [InlineData("GET", "/admin/nothing")]
    [InlineData("GET", "/nothing.txt")]
    [InlineData("HEAD", "/v1/nothing")]
    public async Task UnknownPath_OpenAIPrefix_404InOpenAIEnvelope(string method, string path)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        if (method == "HEAD")
        {
            return;
        }

        var error = (await JsonOf(response)).GetProperty("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains($"{method} {path}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_OtherDialectPrefixes_404InThatDialectsEnvelope()
    {
        using var modelVerse = await Http.GetAsync("/v1/tasks/nothing");
        Assert.Equal(HttpStatusCode.NotFound, modelVerse.StatusCode);
        var mv = (await JsonOf(modelVerse)).GetProperty("error");
        Assert.Equal("not_found", mv.GetProperty("code").GetString());
        Assert.Contains("/v1/tasks/nothing", mv.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var aiml = await Http.GetAsync("/v2/video/nothing");
        Assert.Equal(HttpStatusCode.NotFound, aiml.StatusCode);
        var am = await JsonOf(aiml);
        Assert.Equal(404, am.GetProperty("statusCode").GetInt32());
        Assert.Equal("/v2/video/nothing", am.GetProperty("path").GetString());

        using var sora = await Http.GetAsync("/v2/videos/nothing/else");
        Assert.Equal(HttpStatusCode.NotFound, sora.StatusCode);
        var sr = await JsonOf(sora);
        Assert.Contains("/v2/videos/nothing/else", sr.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("not_found", sr.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task WrongMethod_KnownPath_405WithAllowAndEnvelope()
    {
        using var response = await Http.DeleteAsync("/v1/videos/video_1/content");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        var allow = response.Content.Headers.Allow;
        Assert.Contains("GET", allow);
        Assert.Contains("HEAD", allow);
        var error = (await JsonOf(response)).GetProperty("error");
        Assert.Contains("DELETE is not allowed on /v1/videos/video_1/content", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var modelVerse = await Http.GetAsync("/v1/tasks/submit");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, modelVerse.StatusCode);
        Assert.Contains("POST", modelVerse.Content.Headers.Allow);
        Assert.Equal("param_error", (await JsonOf(modelVerse)).GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("POST", "/v1/videos/video_123/remix", "video_id")]
    [InlineData("GET", "/v1/videos/characters/char_123", "character_id")]
    public async Task OpenAIOperation_UnknownId_404InOpenAIsEnvelopeNamingTheParameter(string method, string path, string param)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"prompt":"x"}""", Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await JsonOf(response)).GetProperty("error");
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }
}
