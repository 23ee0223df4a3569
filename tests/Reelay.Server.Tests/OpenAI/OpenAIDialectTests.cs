using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.OpenAI;

public sealed class OpenAIDialectTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpClient Http => _server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> CreateAsync(string json)
    {
        using var response = await Http.PostAsync("/v1/videos", Json(json));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<JsonElement> WaitAsync(string id)
    {
        for (var i = 0; i < 600; i++)
        {
            var video = await Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                return video;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not finish");
    }

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var error = body.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error.Clone();
    }

    [Fact]
    public async Task Create_TextToVideo_CompletesWithPlayableMp4OfRequestedShape()
    {
        var created = await CreateAsync("""{"model":"sandbox","prompt":"A lighthouse at dawn","seconds":"2","size":"320x240","seed":7}""");
        Assert.Equal("video", created.GetProperty("object").GetString());
        Assert.Equal("2", created.GetProperty("seconds").GetString());
        Assert.Equal("320x240", created.GetProperty("size").GetString());
        Assert.Contains("not an AI model", created.GetProperty("note").GetString(), StringComparison.Ordinal);

        var done = await WaitAsync(created.GetProperty("id").GetString()!);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        Assert.Equal(JsonValueKind.Number, done.GetProperty("completed_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error").ValueKind);

        var path = Path.Combine(_server.DataDirectory, "check.mp4");
        await File.WriteAllBytesAsync(path, await Http.GetByteArrayAsync($"/v1/videos/{done.GetProperty("id").GetString()}/content"));
        var probe = await TestFiles.FfprobeAsync(path, "stream=codec_name,width,height,pix_fmt:format=duration");
        Assert.Contains("codec_name=h264", probe, StringComparison.Ordinal);
        Assert.Contains("width=320", probe, StringComparison.Ordinal);
        Assert.Contains("height=240", probe, StringComparison.Ordinal);
        Assert.Contains("pix_fmt=yuv420p", probe, StringComparison.Ordinal);
        var duration = double.Parse(probe.Split('\n').First(l => l.StartsWith("duration=", StringComparison.Ordinal))[9..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(duration, 1.9, 2.1);
    }

    [Fact]
    public async Task Create_MultipartWithUploadedFirstFrame_CompletesAndServesThumbnail()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sandbox"), "model" },
            { new StringContent("slow push in"), "prompt" },
            { new StringContent("1"), "seconds" },
            { new StringContent("160x120"), "size" },
        };
        var image = new ByteArrayContent(await TestFiles.ImageAsync(400, 300, "jpg"));
        image.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(image, "input_reference", "frame.bin");
        using var response = await Http.PostAsync("/v1/videos", form);
        var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("completed", (await WaitAsync(id)).GetProperty("status").GetString());
        using var thumbnail = await Http.GetAsync($"/v1/videos/{id}/content?variant=thumbnail");
        Assert.Equal("image/webp", thumbnail.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"{id}.webp", thumbnail.Content.Headers.ContentDisposition?.FileNameStar ?? thumbnail.Content.Headers.ContentDisposition?.FileName);
        var bytes = await thumbnail.Content.ReadAsByteArrayAsync();
        Assert.Equal("webp", Reelay.Media.ImageInfo.Sniff(bytes)?.Format);
    }

    [Fact]
    public async Task Content_RangeRequest_Returns206WithThatSlice()
    {
        var created = await CreateAsync("""{"model":"sandbox","prompt":"ranges","seconds":"1","size":"160x120"}""");
        var id = created.GetProperty("id").GetString()!;
        await WaitAsync(id);
        var whole = await Http.GetByteArrayAsync($"/v1/videos/{id}/content");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        request.Headers.Range = new RangeHeaderValue(100, 199);
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(whole[100..200], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(whole.Length, response.Content.Headers.ContentRange!.Length);
    }

    [Fact]
    public async Task Content_BeforeCompletion_ConflictInEnvelope()
    {
        var created = await CreateAsync("""{"model":"sandbox","prompt":"not yet","seconds":"20","size":"1920x1080"}""");
        using var response = await Http.GetAsync($"/v1/videos/{created.GetProperty("id").GetString()}/content");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("conflict", (await ErrorOf(response)).GetProperty("code").GetString());
        await Http.PostAsync($"/v1/videos/{created.GetProperty("id").GetString()}/cancel", null);
    }

    [Fact]
    public async Task List_CursorPaging_WalksEveryVideoOnceInOrder()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await CreateAsync($$"""{"model":"sandbox","prompt":"p{{i}}","seconds":"1","size":"64x64"}""")).GetProperty("id").GetString()!);
        }

        var seen = new List<string>();
        string? after = null;
        for (var page = 0; page < 10; page++)
        {
            var list = await Http.GetFromJsonAsync<JsonElement>($"/v1/videos?limit=2&order=asc{(after is null ? "" : "&after=" + after)}");
            Assert.Equal("list", list.GetProperty("object").GetString());
            var data = list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToList();
            seen.AddRange(data);
            if (data.Count > 0)
            {
                Assert.Equal(data[0], list.GetProperty("first_id").GetString());
                Assert.Equal(data[^1], list.GetProperty("last_id").GetString());
            }

            if (!list.GetProperty("has_more").GetBoolean())
            {
                break;
            }

            after = data[^1];
        }

        Assert.Equal(ids, seen);
        var desc = await Http.GetFromJsonAsync<JsonElement>("/v1/videos?limit=1");
        Assert.Equal(ids[^1], desc.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Cancel_RunningVideo_FailedWithCancelledCodeAndDeleteRemovesIt()
    {
        var created = await CreateAsync("""{"model":"sandbox","prompt":"long one","seconds":"20","size":"1920x1080"}""");
        var id = created.GetProperty("id").GetString()!;
        using var cancel = await Http.PostAsync($"/v1/videos/{id}/cancel", null);
        var cancelled = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("failed", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled", cancelled.GetProperty("error").GetProperty("code").GetString());

        using var delete = await Http.DeleteAsync($"/v1/videos/{id}");
        var deleted = JsonDocument.Parse(await delete.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("video.deleted", deleted.GetProperty("object").GetString());
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        using var gone = await Http.GetAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Models_ListsCatalog()
    {
        var models = await Http.GetFromJsonAsync<JsonElement>("/v1/models");
        var ids = models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("sandbox", ids);
        Assert.Contains("sora-2-pro", ids);
        Assert.Contains("viduq2-turbo", ids);
    }

    [Theory]
    [InlineData("{\"model\":\"sandbox\",", 400, "body", "not valid JSON")]
    [InlineData("[1,2]", 400, "body", "JSON object")]
    [InlineData("{\"model\":\"nope\",\"prompt\":\"x\"}", 400, "model", "'nope' is not offered")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"seconds\":\"99\"}", 400, "seconds", "allowed: 1 to 20")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"seconds\":\"four\"}", 400, "seconds", "whole number")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"size\":\"1281x720\"}", 400, "size", "even")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"size\":\"big\"}", 400, "size", "WIDTHxHEIGHT")]
    [InlineData("{\"model\":\"sora-2\",\"prompt\":\"x\",\"size\":\"1024x1792\"}", 400, "size", "720x1280 or 1280x720")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"colour\":\"red\"}", 400, "colour", "Unrecognized request argument")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":42}", 400, "prompt", "must be a string")]
    [InlineData("{\"model\":\"sandbox\"}", 400, "prompt", "required")]
    [InlineData("{\"model\":\"sora-2\",\"prompt\":\"x\"}", 400, "model", "no provider deployment")]
    [InlineData("{\"model\":\"viduq2-pro\",\"prompt\":\"x\"}", 400, "input_reference", "from an image only")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"input_reference\":{\"image_url\":\"http://127.0.0.1:1/x.png\"}}", 400, "input_reference.image_url", "loopback, private")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"input_reference\":{\"image_url\":\"http://169.254.169.254/latest/meta-data\"}}", 400, "input_reference.image_url", "metadata")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"input_reference\":{\"image_url\":\"file:///etc/passwd\"}}", 400, "input_reference.image_url", "scheme")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"input_reference\":{\"image_url\":\"data:image/png;base64,aGVsbG8=\"}}", 400, "input_reference.image_url", "not a PNG, JPEG or WebP")]
    [InlineData("{\"model\":\"sandbox\",\"prompt\":\"x\",\"input_reference\":{\"file_id\":\"file_1\"}}", 400, "input_reference.file_id", "not supported")]
    public async Task Create_BadInput_ClearErrorNamingTheFieldAndNothingStored(string body, int status, string param, string message)
    {
        using var response = await Http.PostAsync("/v1/videos", Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());

        var list = await Http.GetFromJsonAsync<JsonElement>("/v1/videos");
        Assert.Equal(0, list.GetProperty("data").GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(_server.DataDirectory, "files", "inputs")) && Directory.EnumerateFiles(Path.Combine(_server.DataDirectory, "files", "inputs")).Any());
    }

    [Fact]
    public async Task Create_NonImageUpload_ImageInvalid()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sandbox"), "model" },
            { new StringContent("x"), "prompt" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("%PDF-1.7 not an image")), "input_reference", "frame.png" },
        };
        using var response = await Http.PostAsync("/v1/videos", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("image_invalid", error.GetProperty("code").GetString());
        Assert.Equal("input_reference", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Create_ImageWithExtremeRatio_ImageInvalid()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sandbox"), "model" },
            { new ByteArrayContent(await TestFiles.ImageAsync(500, 100)), "input_reference", "wide.png" },
        };
        using var response = await Http.PostAsync("/v1/videos", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("1:4 and 4:1", (await ErrorOf(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_BodyOverLimit_413InEnvelope()
    {
        await using var small = await ReelayTestServer.StartAsync(new() { ["Reelay:Limits:MaxRequestBodyBytes"] = "4096", ["Reelay:Limits:MaxImageBytes"] = "4096" });
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sandbox"), "model" },
            { new ByteArrayContent(new byte[100_000]), "input_reference", "big.png" },
        };
        using var response = await small.Http.PostAsync("/v1/videos", form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("payload_too_large", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("GET", "/v1/videos/video_0123456789abcdef0123456789abcdef")]
    [InlineData("GET", "/v1/videos/video_0123456789abcdef0123456789abcdef/content")]
    [InlineData("DELETE", "/v1/videos/nope")]
    [InlineData("POST", "/v1/videos/nope/cancel")]
    public async Task UnknownId_404InEnvelope(string method, string path)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key-wrong-key")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task WrongOrMissingKey_401InEnvelope(string? authorization)
    {
        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/videos");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (await ErrorOf(response)).GetProperty("code").GetString());
        Assert.DoesNotContain(_server.ApiKey, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
