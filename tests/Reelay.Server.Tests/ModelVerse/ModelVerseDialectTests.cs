using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.ModelVerse;

/// <summary>Seeds 000-002 (UCloud ModelVerse), their curl examples run verbatim with only host and key changed.</summary>
public sealed class ModelVerseDialectTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;
    private ImageHost _images = null!;

    public async Task InitializeAsync()
    {
        // The seeds' first frame lives on umodelverse-inference.cn-wlcb.ufileos.com; here a loopback host serves a JPEG
        // at the same path, allowlisted for this test only (loopback is refused by default).
        _images = await ImageHost.StartAsync("/ucloud-maxcot.jpg", await TestFiles.ImageAsync(1024, 768, "jpg"), "image/jpeg");
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

    private string ImageUrl => _images.BaseAddress + "ucloud-maxcot.jpg";

    private Task<(int Status, JsonElement Body)> Submit(string data) => Curl.RunAsync(
        "--location", "--globoff", $"{Host}/v1/tasks/submit",
        "--header", $"Authorization: {_server.ApiKey}",
        "--header", "Content-Type: application/json",
        "--data", data);

    private Task<(int Status, JsonElement Body)> Status(string taskId) => Curl.RunAsync(
        "--location", $"{Host}/v1/tasks/status?task_id={taskId}",
        "--header", $"Authorization: {_server.ApiKey}");

    private async Task<JsonElement> SubmitAndWaitAsync(string data)
    {
        var (status, submitted) = await Submit(data);
        Assert.True(status == 200, submitted.ToString());
        Assert.Equal(JsonValueKind.String, submitted.GetProperty("request_id").ValueKind);
        var taskId = submitted.GetProperty("output").GetProperty("task_id").GetString()!;

        for (var i = 0; i < 600; i++)
        {
            var (code, body) = await Status(taskId);
            Assert.Equal(200, code);
            var state = body.GetProperty("output").GetProperty("task_status").GetString();
            Assert.Contains(state, new[] { "Pending", "Running", "Success", "Failure" });
            if (state is "Success" or "Failure")
            {
                return body;
            }

            Assert.False(body.GetProperty("output").TryGetProperty("finish_time", out _));
            await Task.Delay(100);
        }

        throw new TimeoutException(taskId);
    }

    private async Task AssertSucceededAsync(JsonElement body, int width, int height, int seconds, bool usageIsVideoLength)
    {
        var output = body.GetProperty("output");
        Assert.Equal("Success", output.GetProperty("task_status").GetString());
        Assert.StartsWith("video_", output.GetProperty("task_id").GetString(), StringComparison.Ordinal);
        var submit = output.GetProperty("submit_time").GetInt64();
        var finish = output.GetProperty("finish_time").GetInt64();
        Assert.True(finish >= submit && submit > 1_700_000_000);
        Assert.False(output.TryGetProperty("error_message", out _));
        Assert.Equal(JsonValueKind.String, body.GetProperty("request_id").ValueKind);
        var duration = body.GetProperty("usage").GetProperty("duration").GetInt32();
        if (usageIsVideoLength)
        {
            Assert.Equal(seconds, duration);
        }
        else
        {
            Assert.InRange(duration, 0, 600);
        }

        var url = Assert.Single(output.GetProperty("urls").EnumerateArray()).GetString()!;
        Assert.StartsWith(Host + "/content/", url, StringComparison.Ordinal);
        using var anonymous = new HttpClient();
        var path = Path.Combine(_server.DataDirectory, Guid.NewGuid().ToString("N") + ".mp4");
        await File.WriteAllBytesAsync(path, await anonymous.GetByteArrayAsync(url));
        var probe = await TestFiles.FfprobeAsync(path, "stream=width,height:format=duration");
        Assert.Contains($"width={width}", probe, StringComparison.Ordinal);
        Assert.Contains($"height={height}", probe, StringComparison.Ordinal);
        Assert.Contains($"duration={seconds}.0", probe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seed001_Sora2TextToVideoCurl_SucceedsWithDocumentedFields()
    {
        var body = await SubmitAndWaitAsync("""{ "model": "openai/sora-2/text-to-video", "input": { "prompt": "A beautiful girl is dancing" }, "parameters": { "size": "720x1280", "duration": 4 } }""");
        await AssertSucceededAsync(body, 720, 1280, 4, usageIsVideoLength: false);
    }

    [Fact]
    public async Task Seed000_Sora2ImageToVideoProCurl_SucceedsShapedLikeTheImage()
    {
        var body = await SubmitAndWaitAsync($$"""{ "model": "openai/sora-2/image-to-video-pro", "input": { "first_frame_url": "{{ImageUrl}}", "prompt": "The image is coming to life" }, "parameters": { "resolution": "720p", "duration": 4 } }""");
        await AssertSucceededAsync(body, 1280, 720, 4, usageIsVideoLength: false);
    }

    [Fact]
    public async Task Seed002_ViduImageToVideoCurl_SucceedsAt1080p()
    {
        var body = await SubmitAndWaitAsync($$"""
            {
            "model": "viduq2-pro",
            "input": {
            "first_frame_url": "{{ImageUrl}}",
            "prompt": "make it dance."
            },
            "parameters": {
            "vidu_type": "img2video",
            "duration": 5,
            "resolution": "1080p",
            "movement_amplitude": "auto",
            "bgm": true
            }
            }
            """);
        await AssertSucceededAsync(body, 1440, 1080, 5, usageIsVideoLength: true);
    }

    [Theory]
    [InlineData("{\"model\":", 400, "param_error", "not valid JSON")]
    [InlineData("{\"input\":{\"prompt\":\"x\"}}", 400, "param_error", "'model' is required")]
    [InlineData("{\"model\":\"openai/sora-3\",\"input\":{\"prompt\":\"x\"}}", 400, "model_error", "openai/sora-2/text-to-video")]
    [InlineData("{\"model\":\"viduq2-pro\",\"input\":{\"first_frame_url\":\"data:image/png;base64,aGVsbG8=\"},\"parameters\":{\"vidu_type\":\"text2video\"}}", 400, "param_error", "parameters.vidu_type")]
    [InlineData("{\"model\":\"openai/sora-2/text-to-video\",\"input\":{\"prompt\":\"x\"},\"parameters\":{\"duration\":\"4\"}}", 400, "param_error", "parameters.duration")]
    [InlineData("{\"model\":\"openai/sora-2/text-to-video\",\"input\":{\"prompt\":\"x\"},\"parameters\":{\"duration\":5}}", 400, "param_error", "4, 8, 10, 12 or 15")]
    [InlineData("{\"model\":\"openai/sora-2/text-to-video\",\"input\":{\"prompt\":\"x\"},\"parameters\":{\"size\":\"1792x1024\"}}", 400, "param_error", "parameters.size")]
    [InlineData("{\"model\":\"openai/sora-2/image-to-video\",\"input\":{\"prompt\":\"x\"}}", 400, "param_error", "input.first_frame_url")]
    [InlineData("{\"model\":\"openai/sora-2/text-to-video\",\"input\":{\"prompt\":\"x\",\"negative\":\"y\"}}", 400, "param_error", "input.negative")]
    [InlineData("{\"model\":\"viduq2-pro\",\"input\":{\"first_frame_url\":\"http://10.0.0.1/a.png\"},\"parameters\":{\"vidu_type\":\"img2video\"}}", 400, "param_error", "private")]
    public async Task Submit_BadInput_ModelVerseEnvelopeNamingTheField(string data, int status, string code, string message)
    {
        var (actual, body) = await Submit(data);
        Assert.Equal(status, actual);
        var error = body.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.True(Guid.TryParse(error.GetProperty("param").GetString(), out _), "param carries the request id, as ModelVerse's does");
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_OversizedImage_ParamErrorNamingFirstFrameUrl()
    {
        await using var small = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Sandbox:StandInFor:0"] = "*",
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
            ["Reelay:Limits:MaxImageBytes"] = "2048",
        });
        var (status, body) = await Curl.RunAsync("--location", $"{small.BaseAddress}v1/tasks/submit", "--header", $"Authorization: {small.ApiKey}", "--header", "Content-Type: application/json",
            "--data", $$$"""{"model":"viduq2-turbo","input":{"first_frame_url":"{{{ImageUrl}}}"},"parameters":{"vidu_type":"img2video"}}""");
        Assert.Equal(400, status);
        var error = body.GetProperty("error");
        Assert.Equal("param_error", error.GetProperty("code").GetString());
        Assert.Contains("input.first_frame_url", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("at most 2048 bytes are allowed", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_UnknownTaskAndWrongKey_ModelVerseEnvelope()
    {
        var (status, body) = await Status("video_00000000000000000000000000000000");
        Assert.Equal(404, status);
        Assert.Equal("not_found", body.GetProperty("error").GetProperty("code").GetString());

        var (unauthorized, denied) = await Curl.RunAsync("--location", $"{Host}/v1/tasks/status?task_id=x", "--header", "Authorization: wrong-key");
        Assert.Equal(401, unauthorized);
        Assert.Equal("auth_error", denied.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Submit_WithBearerPrefix_AlsoAccepted_AndJobVisibleThroughOpenAIDialect()
    {
        var (status, body) = await Curl.RunAsync("--location", $"{Host}/v1/tasks/submit", "--header", $"Authorization: Bearer {_server.ApiKey}", "--header", "Content-Type: application/json",
            "--data", """{"model":"sandbox","input":{"prompt":"one id space"},"parameters":{"size":"160x120","duration":1}}""");
        Assert.Equal(200, status);
        var id = body.GetProperty("output").GetProperty("task_id").GetString();
        var video = JsonDocument.Parse(await _server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
        Assert.Equal(id, video.GetProperty("id").GetString());
    }
}
