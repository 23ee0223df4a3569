using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.AimlApi;

/// <summary>Seed 003 (AI/ML API, Sora 2 Pro image-to-video): the documents' requests run through curl with only host and key changed.</summary>
public sealed class AimlApiDialectTests : IAsyncLifetime
{
    private const string ImagePath = "/API/docs/images/sora/woman_skyline_original_720p.jpeg";
    private const string Endpoint = "/v2/video/generations";

    private ReelayTestServer _server = null!;
    private ImageHost _images = null!;

    public async Task InitializeAsync()
    {
        // The seed's first frame lives on cdn.openai.com; here a loopback host serves a 1280x720 JPEG (what sora-2-pro
        // needs at 720p 16:9) at the same path, allowlisted for this test only (loopback is refused by default).
        _images = await ImageHost.StartAsync(ImagePath, await TestFiles.ImageAsync(1280, 720, "jpg"), "image/jpeg");
        _server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Sandbox:StandInFor:0"] = "*",
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _images.DisposeAsync();
    }

    private string Host => _server.BaseAddress.ToString().TrimEnd('/');

    private string ImageUrl => _images.BaseAddress.ToString().TrimEnd('/') + ImagePath;

    // The documents' curl samples: POST from the model's OpenAPI page, GET from universal-video-fetch.
    private static Task<(int Status, JsonElement Body)> Post(string host, string key, string data) => Curl.RunAsync(
        "-L", "--request", "POST", "--url", $"{host}{Endpoint}",
        "--header", $"Authorization: Bearer {key}",
        "--header", "Content-Type: application/json",
        "--data", data);

    private Task<(int Status, JsonElement Body)> Post(string data) => Post(Host, _server.ApiKey, data);

    private Task<(int Status, JsonElement Body)> Get(string generationId, string? key = null) => Curl.RunAsync(
        "-L", "--request", "GET", "--url", $"{Host}{Endpoint}?generation_id={generationId}",
        "--header", $"Authorization: Bearer {key ?? _server.ApiKey}");

    private async Task<string> SubmitAsync(string data)
    {
        var (status, body) = await Post(data);
        Assert.True(status == 200, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>The docs' JS sample loop: keep polling while the status is waiting, active, queued or generating.</summary>
    private async Task<(JsonElement Body, List<string> Seen)> PollAsync(string id)
    {
        var seen = new List<string>();
        for (var i = 0; i < 600; i++)
        {
            var (code, body) = await Get(id);
            Assert.Equal(200, code);
            var status = body.GetProperty("status").GetString()!;
            seen.Add(status);
            Assert.Contains(status, new[] { "queued", "generating", "completed", "error" });
            Assert.Equal(id, body.GetProperty("id").GetString());
            if (status is not ("waiting" or "active" or "queued" or "generating"))
            {
                return (body, seen);
            }

            Assert.Equal(JsonValueKind.Null, body.GetProperty("video").ValueKind);
            Assert.Equal(JsonValueKind.Null, body.GetProperty("error").ValueKind);
            await Task.Delay(100);
        }

        throw new TimeoutException(id);
    }

    private async Task<JsonElement> OpenAIVideoAsync(string id) => await _server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");

    private static void AssertEnvelope(JsonElement body, int status, string message)
    {
        Assert.Equal(["message", "path", "requestId", "statusCode", "timestamp"], body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(status, body.GetProperty("statusCode").GetInt32());
        Assert.Equal(Endpoint, body.GetProperty("path").GetString());
        Assert.True(Guid.TryParse(body.GetProperty("requestId").GetString(), out _));
        Assert.True(DateTimeOffset.TryParseExact(body.GetProperty("timestamp").GetString(), "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when));
        Assert.InRange(when, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.Contains(message, body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seed003_Sora2ProImageToVideoRequest_CompletesWithKeylessPlayableVideo()
    {
        var (status, created) = await Post($$"""{"model":"openai/sora-2-pro-i2v","prompt":"She turns around and smiles, then slowly walks out of the frame.","image_url":"{{ImageUrl}}","resolution":"720p","duration":4}""");
        Assert.True(status == 200, created.ToString());
        var id = created.GetProperty("id").GetString()!;
        Assert.Matches("^video_[0-9a-f]{32}$", id);
        Assert.Equal("queued", created.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("video").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("meta").ValueKind);

        var (done, seen) = await PollAsync(id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal("completed", seen[^1]);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("meta").ValueKind);
        Assert.Contains("standing in for model 'sora-2-pro'", done.GetProperty("note").GetString(), StringComparison.Ordinal);
        var url = done.GetProperty("video").GetProperty("url").GetString()!;
        Assert.StartsWith(Host + "/content/" + id + "/video?", url, StringComparison.Ordinal);

        using var anonymous = new HttpClient();
        var path = Path.Combine(_server.DataDirectory, Guid.NewGuid().ToString("N") + ".mp4");
        await File.WriteAllBytesAsync(path, await anonymous.GetByteArrayAsync(url));
        var probe = await TestFiles.FfprobeAsync(path, "stream=width,height:format=duration");
        Assert.Contains("width=1280", probe, StringComparison.Ordinal);
        Assert.Contains("height=720", probe, StringComparison.Ordinal);
        Assert.Contains("duration=4.0", probe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_DefaultsLeftOut_AimlDefaultsNotTheCatalogs()
    {
        // AI/ML's defaults: 16:9, 4 s, 720p for sora-2 and 1080p for Pro (the catalog's own default is 9:16).
        var plain = await SubmitAsync("""{"model":"openai/sora-2-t2v","prompt":"A lighthouse at dawn"}""");
        var pro = await SubmitAsync("""{"model":"openai/sora-2-pro-t2v","prompt":"A lighthouse at dawn"}""");
        var portrait = await SubmitAsync("""{"model":"openai/sora-2-pro-t2v","prompt":"A lighthouse at dawn","aspect_ratio":"9:16","resolution":"720p","duration":"8"}""");
        foreach (var (id, model, size, seconds) in new[] { (plain, "sora-2", "1280x720", "4"), (pro, "sora-2-pro", "1792x1024", "4"), (portrait, "sora-2-pro", "720x1280", "8") })
        {
            var video = await OpenAIVideoAsync(id);
            Assert.Equal(model, video.GetProperty("model").GetString());
            Assert.Equal(size, video.GetProperty("size").GetString());
            Assert.Equal(seconds, video.GetProperty("seconds").GetString());
            await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null);
        }
    }

    [Fact]
    public async Task Submit_Base64ImageUrl_AcceptedAsImageToVideo()
    {
        // Too long for a command line: sent the way the docs' Python sample sends it (requests.post(json=...)).
        var base64 = Convert.ToBase64String(await TestFiles.ImageAsync(720, 1280, "png"));
        foreach (var image in new[] { base64, "data:image/png;base64," + base64 })
        {
            using var response = await _server.Http.PostAsJsonAsync(Endpoint, new Dictionary<string, string> { ["model"] = "openai/sora-2-i2v", ["prompt"] = "p", ["image_url"] = image, ["aspect_ratio"] = "9:16" });
            var created = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, created.ToString());
            var id = created.GetProperty("id").GetString()!;
            var video = await OpenAIVideoAsync(id);
            Assert.Equal("720x1280", video.GetProperty("size").GetString());
            await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null);
        }
    }

    [Theory]
    [InlineData("{\"model\":", "Body validation error! The request body is not valid JSON")]
    [InlineData("[1,2]", "Body validation error! Expected object, received array")]
    [InlineData("{\"prompt\":\"x\"}", "Body validation error! model: Required; expected 'openai/sora-2-t2v' | 'openai/sora-2-i2v' | 'openai/sora-2-pro-t2v' | 'openai/sora-2-pro-i2v'")]
    [InlineData("{\"model\":\"openai/sora-3\",\"prompt\":\"x\"}", "Body validation error! model: Invalid enum value. Expected 'openai/sora-2-t2v' | 'openai/sora-2-i2v' | 'openai/sora-2-pro-t2v' | 'openai/sora-2-pro-i2v' (or a Reelay catalog model: ")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\"}", "Body validation error! prompt: Required")]
    [InlineData("{\"model\":\"openai/sora-2-pro-i2v\",\"prompt\":\"x\"}", "Body validation error! image_url: Required")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"image_url\":\"https://example.com/a.png\"}", "Body validation error! image_url: Model 'openai/sora-2-t2v' is text-to-video and takes no image_url; send the image to 'openai/sora-2-i2v' instead.")]
    [InlineData("{\"model\":\"openai/sora-2-pro-t2v\",\"prompt\":\"x\",\"resolution\":\"4k\"}", "Body validation error! resolution: Invalid enum value. Expected '720p' | '1080p', received '4k'")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"resolution\":\"1080p\"}", "Body validation error! resolution: Invalid enum value. Expected '720p', received '1080p'")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"aspect_ratio\":\"1:1\"}", "Body validation error! aspect_ratio: Invalid enum value. Expected '16:9' | '9:16', received '1:1'")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"duration\":5}", "Body validation error! duration: Invalid enum value. Expected 4 | 8 | 12, received 5")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"duration\":\"abc\"}", "Body validation error! duration: Expected integer, received string \"abc\"")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"duration\":4.5}", "Body validation error! duration: Expected integer, received number 4.5")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":42}", "Body validation error! prompt: Expected string, received number")]
    [InlineData("{\"model\":\"openai/sora-2-t2v\",\"prompt\":\"x\",\"seed\":1}", "Body validation error! seed: Unrecognized key 'seed'; allowed keys: model, prompt, image_url, last_image_url, image_urls, resolution, aspect_ratio, duration, webhook_url, webhook_events.")]
    [InlineData("{\"model\":\"openai/sora-2-i2v\",\"prompt\":\"x\",\"image_url\":\"http://10.0.0.1/a.png\"}", "Body validation error! image_url: 'image_url' points at 10.0.0.1, which resolves to a loopback, private")]
    [InlineData("{\"model\":\"openai/sora-2-i2v\",\"prompt\":\"x\",\"image_url\":\"ftp://example.com/a.png\"}", "Body validation error! image_url:")]
    [InlineData("{\"model\":\"openai/sora-2-i2v\",\"prompt\":\"x\",\"image_url\":\"aGVsbG8=\"}", "Body validation error! image_url: 'image_url' is not a PNG, JPEG or WebP image")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"duration\":60}", "Body validation error! duration: duration 60 s is not offered by model 'sandbox'")]
    public async Task Submit_BadInput_400InAimlEnvelopeNamingTheField(string data, string message)
    {
        var (status, body) = await Post(data);
        Assert.Equal(400, status);
        AssertEnvelope(body, 400, message);
    }

    [Fact]
    public async Task Submit_NotJsonContentType_400NamingContentType()
    {
        var (status, body) = await Curl.RunAsync("--request", "POST", "--url", $"{Host}{Endpoint}", "--header", $"Authorization: Bearer {_server.ApiKey}",
            "--data", """{"model":"openai/sora-2-t2v","prompt":"x"}""");
        Assert.Equal(400, status);
        AssertEnvelope(body, 400, "Body validation error! Content-Type: Content-Type 'application/x-www-form-urlencoded' is not supported; send application/json.");
    }

    [Fact]
    public async Task Submit_OversizedImageOrBody_4xxInAimlEnvelope()
    {
        await using var small = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Sandbox:StandInFor:0"] = "*",
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
            ["Reelay:Limits:MaxImageBytes"] = "2048",
            ["Reelay:Limits:MaxRequestBodyBytes"] = "65536",
        });
        var host = small.BaseAddress.ToString().TrimEnd('/');
        var (status, body) = await Post(host, small.ApiKey, $$"""{"model":"openai/sora-2-pro-i2v","prompt":"x","image_url":"{{ImageUrl}}","resolution":"720p"}""");
        Assert.Equal(400, status);
        AssertEnvelope(body, 400, "Body validation error! image_url: 'image_url' is");
        Assert.Contains("at most 2048 bytes are allowed", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        var padding = new string('A', 100_000);
        (status, body) = await Post(host, small.ApiKey, $$"""{"model":"openai/sora-2-i2v","prompt":"x","image_url":"{{padding}}"}""");
        Assert.Equal(413, status);
        AssertEnvelope(body, 413, "Reelay:Limits:MaxRequestBodyBytes");
    }

    [Fact]
    public async Task Get_UnknownOrMissingIdAndWrongKey_AimlEnvelope()
    {
        var (status, body) = await Get("video_00000000000000000000000000000000");
        Assert.Equal(404, status);
        AssertEnvelope(body, 404, "No video job with id 'video_00000000000000000000000000000000' was found.");

        var (missing, query) = await Curl.RunAsync("-L", "--url", $"{Host}{Endpoint}", "--header", $"Authorization: Bearer {_server.ApiKey}");
        Assert.Equal(400, missing);
        AssertEnvelope(query, 400, "Query validation error! generation_id: Required");

        var (wrong, denied) = await Get("video_00000000000000000000000000000000", "wrong-key");
        Assert.Equal(401, wrong);
        AssertEnvelope(denied, 401, "This request requires a valid API key");

        var (anonymous, refused) = await Curl.RunAsync("--request", "POST", "--url", $"{Host}{Endpoint}", "--header", "Content-Type: application/json", "--data", "{}");
        Assert.Equal(401, anonymous);
        AssertEnvelope(refused, 401, "This request requires a valid API key");
    }

    [Fact]
    public async Task Get_JobsOfEitherDialect_OneIdSpace()
    {
        var aiml = await SubmitAsync("""{"model":"openai/sora-2-pro-t2v","prompt":"one id space","resolution":"720p","aspect_ratio":"9:16"}""");
        var viaOpenAI = await OpenAIVideoAsync(aiml);
        Assert.Equal(aiml, viaOpenAI.GetProperty("id").GetString());
        Assert.Equal("sora-2-pro", viaOpenAI.GetProperty("model").GetString());
        Assert.Equal("720x1280", viaOpenAI.GetProperty("size").GetString());

        using var created = await _server.Http.PostAsync("/v1/videos", JsonContent.Create(new { model = "sandbox", prompt = "from openai", seconds = "1", size = "160x90" }));
        var openai = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var (done, _) = await PollAsync(openai);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, done.GetProperty("video").ValueKind);
        await _server.Http.PostAsync($"/v1/videos/{aiml}/cancel", null);
    }

    [Fact]
    public async Task Get_CancelledJob_ErrorStatusNamedByCanonicalCode()
    {
        var id = await SubmitAsync("""{"model":"sandbox","prompt":"a long one","duration":20,"resolution":"1080p"}""");
        using var cancel = await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode);

        var (done, _) = await PollAsync(id);
        Assert.Equal("error", done.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("video").ValueKind);
        var error = done.GetProperty("error");
        Assert.Equal("cancelled", error.GetProperty("name").GetString());
        Assert.Equal("The job was cancelled by its owner.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Submit_SandboxModelWithoutStandIn_ServedWhileSoraIsRefused()
    {
        await using var plain = await ReelayTestServer.StartAsync();
        var host = plain.BaseAddress.ToString().TrimEnd('/');
        var (status, created) = await Post(host, plain.ApiKey, """{"model":"sandbox","prompt":"A lighthouse at dawn","duration":1,"resolution":"360p"}""");
        Assert.True(status == 200, created.ToString());
        var video = await plain.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{created.GetProperty("id").GetString()}");
        Assert.Equal("640x360", video.GetProperty("size").GetString());
        Assert.Equal("1", video.GetProperty("seconds").GetString());

        var (refused, body) = await Post(host, plain.ApiKey, """{"model":"openai/sora-2-t2v","prompt":"x"}""");
        Assert.Equal(400, refused);
        AssertEnvelope(body, 400, "Body validation error! model: Model 'sora-2' is in the catalog but no provider deployment serves it");
    }
}
