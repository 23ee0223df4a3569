using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Server.Tests.Providers;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.OpenAI;

/// <summary>
/// Issue 15: OpenAI's remix, edits, extensions and characters through the sandbox (real ffmpeg renders, not AI) and
/// through the OpenAI-compatible upstream EMULATOR; per-key isolation; refusals in OpenAI's envelope naming the field.
/// </summary>
public sealed class OpenAIVideoOperationsTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Http => _server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> CompletedSandboxAsync(string prompt = "the source")
    {
        var id = await GatewayWithEmulators.CreateAsync(_server, new { model = "sandbox", prompt, seconds = "1", size = "160x120" });
        var video = await GatewayWithEmulators.WaitAsync(_server, id);
        Assert.Equal("completed", video.GetProperty("status").GetString());
        return video;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Read(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<HttpClient> OtherKeyAsync()
    {
        using var created = await Http.PostAsJsonAsync("/admin/keys", new { name = "someone else" });
        created.EnsureSuccessStatusCode();
        var secret = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString()!;
        var client = new HttpClient { BaseAddress = _server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    [Fact]
    public async Task Remix_CompletedSandboxVideo_RerendersKeepingModelSizeAndLength()
    {
        var source = await CompletedSandboxAsync();
        var sourceId = source.GetProperty("id").GetString()!;

        using var response = await Http.PostAsync($"/v1/videos/{sourceId}/remix", Json("""{"prompt":"the same, at night"}"""));
        var (status, remix) = await Read(response);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(sourceId, remix.GetProperty("remixed_from_video_id").GetString());
        Assert.Equal("remix", remix.GetProperty("operation").GetString());
        var done = await GatewayWithEmulators.WaitAsync(_server, remix.GetProperty("id").GetString()!);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal("sandbox", done.GetProperty("model").GetString());
        Assert.Equal("160x120", done.GetProperty("size").GetString());
        Assert.Equal("1", done.GetProperty("seconds").GetString());
        Assert.Equal("the same, at night", done.GetProperty("prompt").GetString());
        Assert.NotEqual(source.GetProperty("sha256").GetString(), done.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Extend_MultipartLikeTheSdk_StitchesSourceAndContinuationAndReportsTheTotal()
    {
        var sourceId = (await CompletedSandboxAsync()).GetProperty("id").GetString()!;
        using var form = new MultipartFormDataContent { { new StringContent("and then it rains"), "prompt" }, { new StringContent("1"), "seconds" }, { new StringContent(sourceId), "video[id]" } };

        using var response = await Http.PostAsync("/v1/videos/extensions", form);
        var (status, extension) = await Read(response);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("2", extension.GetProperty("seconds").GetString());
        Assert.Equal(sourceId, extension.GetProperty("source_video_id").GetString());
        var id = extension.GetProperty("id").GetString()!;
        var done = await GatewayWithEmulators.WaitAsync(_server, id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal("2", done.GetProperty("seconds").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(_server, id);
        Assert.Contains("width=160", probe, StringComparison.Ordinal);
        Assert.Contains("duration=2.0", probe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edit_JsonVideoReference_RerendersOverTheSourceFrames()
    {
        var sourceId = (await CompletedSandboxAsync()).GetProperty("id").GetString()!;

        using var response = await Http.PostAsync("/v1/videos/edits", Json($$$"""{"prompt":"make it blue","video":{"id":"{{{sourceId}}}"}}"""));
        var (status, edit) = await Read(response);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("edit", edit.GetProperty("operation").GetString());
        Assert.Equal(JsonValueKind.Null, edit.GetProperty("remixed_from_video_id").ValueKind);
        var id = edit.GetProperty("id").GetString()!;
        var done = await GatewayWithEmulators.WaitAsync(_server, id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(_server, id);
        Assert.Contains("height=120", probe, StringComparison.Ordinal);
        Assert.Contains("duration=1.0", probe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Characters_CreateGetAndReference_OwnedByTheirKey()
    {
        var png = await TestFiles.ImageAsync(64, 64);
        using var form = new MultipartFormDataContent { { new StringContent("Captain Reel"), "name" }, { new ByteArrayContent(png), "video", "captain.png" } };

        using var created = await Http.PostAsync("/v1/videos/characters", form);
        var (status, character) = await Read(created);

        Assert.Equal(HttpStatusCode.OK, status);
        var characterId = character.GetProperty("id").GetString()!;
        Assert.StartsWith("char_", characterId, StringComparison.Ordinal);
        Assert.Equal("Captain Reel", character.GetProperty("name").GetString());
        var fetched = await Http.GetFromJsonAsync<JsonElement>($"/v1/videos/characters/{characterId}");
        Assert.Equal("Captain Reel", fetched.GetProperty("name").GetString());

        var id = await GatewayWithEmulators.CreateAsync(_server, new { model = "sandbox", prompt = "a hero walks in", seconds = "1", size = "160x120", characters = new[] { characterId } });
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(_server, id)).GetProperty("status").GetString());

        using var other = await OtherKeyAsync();
        using var theirs = await other.GetAsync($"/v1/videos/characters/{characterId}");
        var (otherStatus, error) = await Read(theirs);
        Assert.Equal(HttpStatusCode.NotFound, otherStatus);
        Assert.Equal("not_found", error.GetProperty("error").GetProperty("code").GetString());
        using var borrowed = await other.PostAsJsonAsync("/v1/videos", new { model = "sandbox", prompt = "x", characters = new[] { characterId } });
        var (borrowStatus, borrowError) = await Read(borrowed);
        Assert.Equal(HttpStatusCode.NotFound, borrowStatus);
        Assert.Equal("characters", borrowError.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Remix_AnotherKeysVideo_404LikeAnUnknownId()
    {
        var sourceId = (await CompletedSandboxAsync()).GetProperty("id").GetString()!;
        using var other = await OtherKeyAsync();

        using var response = await other.PostAsync($"/v1/videos/{sourceId}/remix", Json("""{"prompt":"mine now"}"""));
        var (status, body) = await Read(response);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("not_found", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("video_id", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/videos/edits", """{"prompt":"x"}""", "video")]
    [InlineData("/v1/videos/edits", """{"prompt":"x","video":"video_1"}""", "video")]
    [InlineData("/v1/videos/edits", """{"prompt":"x","video":{"id":"video_1","url":"y"}}""", "video.url")]
    [InlineData("/v1/videos/extensions", """{"prompt":"x","video":{"id":"video_1"}}""", "seconds")]
    [InlineData("/v1/videos/extensions", """{"prompt":"x","seconds":"-4","video":{"id":"video_1"}}""", "seconds")]
    [InlineData("/v1/videos/extensions", """{"seconds":"4","video":{"id":"video_1"}}""", "prompt")]
    [InlineData("/v1/videos/video_1/remix", """{"prompt":"x","model":"sora-2"}""", "model")]
    [InlineData("/v1/videos/video_1/remix", """{"prompt":"\ud800"}""", "prompt")]
    [InlineData("/v1/videos/video_1/remix", """{"prompt":"x","prompt":"y"}""", "prompt")]
    [InlineData("/v1/videos/video_1/remix", """{"prompt":"x""", "body")]
    [InlineData("/v1/videos/video_1/remix", """[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]""", "body")]
    public async Task Operations_HostileOrIncompleteBody_400NamingTheField(string path, string json, string param)
    {
        using var response = await Http.PostAsync(path, Json(json));
        var (status, body) = await Read(response);

        Assert.True(status == HttpStatusCode.BadRequest, body.ToString());
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith(param, body.GetProperty("error").GetProperty("param").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_InvalidUtf8AndUploadedVideo_400()
    {
        using var bytes = new ByteArrayContent([.. "{\"prompt\":\""u8.ToArray(), 0xC3, 0x28, .. "\"}"u8.ToArray()]);
        bytes.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var invalid = await Http.PostAsync("/v1/videos/video_1/remix", bytes);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        using var form = new MultipartFormDataContent { { new StringContent("x"), "prompt" }, { new ByteArrayContent([0, 0, 0, 24, .. "ftypmp42"u8.ToArray()]), "video", "a.mp4" } };
        using var upload = await Http.PostAsync("/v1/videos/edits", form);
        var (status, body) = await Read(upload);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("video", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task CreateCharacter_LyingFileAndMissingName_400()
    {
        using var lying = new MultipartFormDataContent { { new StringContent("Liar"), "name" }, { new ByteArrayContent("not a video at all"u8.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("video/mp4") } }, "video", "x.mp4" } };
        using var lyingResponse = await Http.PostAsync("/v1/videos/characters", lying);
        var (status, body) = await Read(lyingResponse);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("video", body.GetProperty("error").GetProperty("param").GetString());

        var png = await TestFiles.ImageAsync(32, 32);
        using var nameless = new MultipartFormDataContent { { new ByteArrayContent(png), "video", "a.png" } };
        using var namelessResponse = await Http.PostAsync("/v1/videos/characters", nameless);
        var (status2, body2) = await Read(namelessResponse);
        Assert.Equal(HttpStatusCode.BadRequest, status2);
        Assert.Equal("name", body2.GetProperty("error").GetProperty("param").GetString());

        using var unknown = await Http.GetAsync("/v1/videos/characters/char_0123456789abcdef0123456789abcdef");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Remix_UnfinishedVideo_400NamingVideoId()
    {
        var id = await GatewayWithEmulators.CreateAsync(_server, new { model = "sandbox", prompt = "slow one", seconds = "20", size = "1920x1080" });
        try
        {
            using var response = await Http.PostAsync($"/v1/videos/{id}/remix", Json("""{"prompt":"too early"}"""));
            var (status, body) = await Read(response);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("video_id", body.GetProperty("error").GetProperty("param").GetString());
            Assert.Contains("only a completed video", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            using var _ = await Http.PostAsync($"/v1/videos/{id}/cancel", null);
        }
    }

    [Fact]
    public async Task Create_CharactersOnAModelWithoutThem_UnsupportedModelNamingCharacters()
    {
        using var response = await Http.PostAsJsonAsync("/v1/videos", new { model = "kling-v2-6", prompt = "x", characters = new[] { "char_0123456789abcdef0123456789abcdef" } });
        var (status, body) = await Read(response);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("unsupported_model", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("does not take characters", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>Issue 15 through upstreams: the OpenAI-compatible EMULATOR's own endpoints, and a refusal where an upstream cannot.</summary>
public sealed class OpenAIVideoOperationsUpstreamTests
{
    private static EmulatorOptions Fast(string key) => new() { ApiKey = key, QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMilliseconds(600) };

    [Fact]
    public async Task RemixEditExtend_ThroughOpenAICompatibleEmulator_UseTheUpstreamIdOfTheSource()
    {
        await using var upstream = new OpenAICompatibleEmulator(Fast("oa-key-0123456789"));
        await upstream.StartAsync();
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("oa", "openai", upstream),
            new() { ["Reelay:Providers:oa:BaseUrl"] = new Uri(upstream.BaseUrl, "v1").AbsoluteUri, ["Reelay:Routes:sora-2:0:Provider"] = "oa" }));
        var sourceId = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        var source = await GatewayWithEmulators.WaitAsync(server, sourceId);
        Assert.True(source.GetProperty("status").GetString() == "completed", source.ToString());
        var upstreamSource = upstream.Tasks.All.Single().Id;

        using var remix = await server.Http.PostAsJsonAsync($"/v1/videos/{sourceId}/remix", new { prompt = "a paper boat at night" });
        Assert.True(remix.IsSuccessStatusCode, await remix.Content.ReadAsStringAsync());
        using var edit = await server.Http.PostAsJsonAsync("/v1/videos/edits", new { prompt = "make it red", video = new { id = sourceId } });
        Assert.True(edit.IsSuccessStatusCode, await edit.Content.ReadAsStringAsync());
        using var extend = await server.Http.PostAsJsonAsync("/v1/videos/extensions", new { prompt = "it sails away", seconds = "4", video = new { id = sourceId } });
        Assert.True(extend.IsSuccessStatusCode, await extend.Content.ReadAsStringAsync());

        foreach (var response in new[] { remix, edit, extend })
        {
            var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
            var done = await GatewayWithEmulators.WaitAsync(server, id);
            Assert.Equal("completed", done.GetProperty("status").GetString());
            Assert.Equal("1280x720", done.GetProperty("size").GetString());
        }

        var extended = JsonDocument.Parse(await extend.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("8", extended.GetProperty("seconds").GetString());
        Assert.Equal(
            [("remix", upstreamSource, "a paper boat at night", null), ("edit", upstreamSource, "make it red", null), ("extend", upstreamSource, "it sails away", "4")],
            upstream.DerivedRequests.OrderBy(r => r.Operation == "remix" ? 0 : r.Operation == "edit" ? 1 : 2).ToList());
        var extendedProbe = await GatewayWithEmulators.ProbeContentAsync(server, extended.GetProperty("id").GetString()!);
        Assert.Contains("duration=8.0", extendedProbe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remix_SourceMadeByAnUpstreamWithoutRemix_UnsupportedModelNamingTheOperation()
    {
        await using var mv = new ModelVerseEmulator(Fast("mv-key-0123456789"));
        await mv.StartAsync();
        await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("mv", "modelverse", mv),
            new() { ["Reelay:Routes:sora-2:0:Provider"] = "mv" }));
        var sourceId = await GatewayWithEmulators.CreateAsync(server, new { model = "sora-2", prompt = "a paper boat", seconds = "4", size = "720x1280" });
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(server, sourceId)).GetProperty("status").GetString());

        using var response = await server.Http.PostAsJsonAsync($"/v1/videos/{sourceId}/remix", new { prompt = "again" });
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_model", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("remix operation", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, mv.Requests.Count(r => r.PathAndQuery == "/v1/tasks/submit"));
    }
}
