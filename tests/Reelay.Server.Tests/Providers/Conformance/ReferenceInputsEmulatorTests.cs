using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Emulators.AimlApi;
using Reelay.Emulators.DashScope;
using Reelay.Emulators.Fal;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Conformance;

/// <summary>
/// The EMULATORS of DashScope (wan2.6-r2v input.reference_urls), fal (Veo 3.1 reference-to-video image_urls), ModelVerse
/// (Seedance content roles, Kling image_tail, Veo input.last_frame) and AI/ML API (Seedance last_image_url and
/// image_urls) refuse what their references say the upstream refuses, each in its own error shape, and take a good body.
/// </summary>
public sealed class ReferenceInputsEmulatorTests
{
    private const string Key = "frames-secret-key-123456";
    private const string Unreadable = "data:image/png;base64,bm90IGFuIGltYWdl";
    private static readonly Lazy<Task<string>> Png = new(async () => "data:image/png;base64," + Convert.ToBase64String(await TestFiles.ImageAsync(640, 480)));

    private static async Task<(int Status, string Text)> PostAsync(UpstreamEmulator emulator, string path, string json, Action<HttpRequestHeaders> auth)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.ApiBaseUrl, path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        auth(request.Headers);
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task<(int Status, string Text)> DashScopeAsync(UpstreamEmulator emulator, string json) =>
        PostAsync(emulator, "services/aigc/video-generation/video-synthesis", json, h =>
        {
            h.Authorization = new AuthenticationHeaderValue("Bearer", "sk-" + Key);
            h.Add("X-DashScope-Async", "enable");
        });

    [Theory]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves"}""", "reference_urls must be an array of 1 to 5")]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves","reference_urls":[]}""", "reference_urls must be an array of 1 to 5")]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves","reference_urls":[@I,@I,@I,@I,@I,@I]}""", "reference_urls must be an array of 1 to 5")]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves","reference_urls":[@I,"@U"]}""", "reference_urls[1] is not a readable image")]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves","reference_urls":[42]}""", "reference_urls[0]")]
    [InlineData("wan2.6-r2v", """{"prompt":"p","reference_urls":["https://x.example/a.mp4","https://x.example/b.mp4","https://x.example/c.mov","https://x.example/d.mp4"]}""", "at most 3 videos")]
    [InlineData("wan2.6-r2v", """{"prompt":"character1 waves","img_url":@I,"reference_urls":[@I]}""", "not img_url or media")]
    [InlineData("wan2.6-r2v", """{"reference_urls":[@I]}""", "input.prompt is required")]
    [InlineData("wan2.6-t2v", """{"prompt":"a fox","reference_urls":[@I]}""", "reference_urls is not supported by wan2.6-t2v")]
    public async Task DashScopeEmulator_ReferenceUrlsTheApiRefuses_400InvalidParameter(string model, string input, string message)
    {
        await using var emulator = new DashScopeEmulator(new EmulatorOptions { ApiKey = "sk-" + Key });
        await emulator.StartAsync();
        var image = await Png.Value;
        var json = $$"""{"model":"{{model}}","input":{{input.Replace("@I", "\"" + image + "\"", StringComparison.Ordinal).Replace("@U", Unreadable, StringComparison.Ordinal)}},"parameters":{"size":"1280*720","duration":5} }""";

        var (status, text) = await DashScopeAsync(emulator, json);

        Assert.Equal(400, status);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("InvalidParameter", body.GetProperty("code").GetString());
        Assert.Contains(message, body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("832*480", 5, "720P or 1080P sizes only")]
    [InlineData("1280*720", 15, "parameters.duration 15")]
    [InlineData("1280*720", 1, "parameters.duration 1")]
    public async Task DashScopeEmulator_ReferenceToVideoOutsideItsSizesOrDurations_400(string size, int seconds, string message)
    {
        await using var emulator = new DashScopeEmulator(new EmulatorOptions { ApiKey = "sk-" + Key });
        await emulator.StartAsync();
        var json = $$"""{"model":"wan2.6-r2v","input":{"prompt":"character1 waves","reference_urls":["{{await Png.Value}}"]},"parameters":{"size":"{{size}}","duration":{{seconds}} } }""";

        var (status, text) = await DashScopeAsync(emulator, json);

        Assert.Equal(400, status);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DashScopeEmulator_GoodReferenceToVideo_AcceptedWithATaskId()
    {
        await using var emulator = new DashScopeEmulator(new EmulatorOptions { ApiKey = "sk-" + Key });
        await emulator.StartAsync();
        var image = await Png.Value;
        var json = $$"""{"model":"wan2.6-r2v","input":{"prompt":"character1 waves at character2","reference_urls":["{{image}}","https://x.example/ref.mp4"]},"parameters":{"size":"1920*1080","duration":10,"shot_type":"multi"} }""";

        var (status, text) = await DashScopeAsync(emulator, json);

        Assert.Equal(200, status);
        Assert.Equal("PENDING", JsonDocument.Parse(text).RootElement.GetProperty("output").GetProperty("task_status").GetString());
    }

    [Theory]
    [InlineData("fal-ai/veo3.1/reference-to-video", """ "duration":"8s" """, "image_urls", "missing")]
    [InlineData("fal-ai/veo3.1/reference-to-video", """ "duration":"8s","image_urls":[@I,@I,@I,@I] """, "image_urls", "too_long")]
    [InlineData("fal-ai/veo3.1/reference-to-video", """ "duration":"8s","image_urls":["@U"] """, "image_urls.0", "image_load_error")]
    [InlineData("fal-ai/veo3.1/reference-to-video", """ "duration":"4s","image_urls":[@I] """, "duration", "literal_error")]
    [InlineData("fal-ai/veo3.1", """ "duration":"8s","image_urls":[@I] """, "image_urls", "extra_forbidden")]
    public async Task FalEmulator_ReferenceImagesTheModelRefuses_422NamingTheField(string model, string fields, string field, string type)
    {
        await using var emulator = new FalEmulator(new EmulatorOptions { ApiKey = "fal-key-id:" + Key });
        await emulator.StartAsync();
        var json = "{\"prompt\":\"a fox\"," + fields.Replace("@I", "\"" + await Png.Value + "\"", StringComparison.Ordinal).Replace("@U", Unreadable, StringComparison.Ordinal) + "}";

        var (status, text) = await PostAsync(emulator, model, json, h => h.TryAddWithoutValidation("Authorization", "Key fal-key-id:" + Key));

        Assert.Equal(422, status);
        var detail = JsonDocument.Parse(text).RootElement.GetProperty("detail")[0];
        Assert.Equal(type, detail.GetProperty("type").GetString());
        Assert.Equal(field, string.Join('.', detail.GetProperty("loc").EnumerateArray().Skip(1).Select(l => l.GetString())));
    }

    [Theory]
    [InlineData("""{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"@I"},"role":"last_frame"}]}}""", "a last_frame image needs a first_frame image")]
    [InlineData("""{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"@I"},"role":"first_frame"},{"type":"image_url","image_url":{"url":"@I"},"role":"reference_image"}]}}""", "cannot be combined")]
    [InlineData("""{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"x"},@R,@R,@R,@R,@R,@R,@R,@R,@R,@R]}}""", "at most 9 reference_image")]
    [InlineData("""{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"@U"},"role":"reference_image"}]}}""", "the reference_image image could not be read")]
    [InlineData("""{"model":"kling-v2-6","input":{"prompt":"x"},"parameters":{"mode":"pro","image_tail":"@B"}}""", "image_tail needs parameters.image")]
    [InlineData("""{"model":"veo-3.1-generate-001","input":{"prompt":"x","last_frame":{"bytesBase64Encoded":"@B","mimeType":"image/png"}},"parameters":{"generate_audio":true}}""", "input.last_frame needs input.image")]
    public async Task ModelVerseEmulator_FrameInputsThePageRefuses_400ParamError(string body, string message)
    {
        await using var emulator = new ModelVerseEmulator(new EmulatorOptions { ApiKey = Key });
        await emulator.StartAsync();
        var image = await Png.Value;
        var json = body.Replace("@R", """{"type":"image_url","image_url":{"url":"@I"},"role":"reference_image"}""", StringComparison.Ordinal)
            .Replace("@I", image, StringComparison.Ordinal).Replace("@U", Unreadable, StringComparison.Ordinal).Replace("@B", image[(image.IndexOf(',', StringComparison.Ordinal) + 1)..], StringComparison.Ordinal);

        var (status, text) = await PostAsync(emulator, "v1/tasks/submit", json, h => h.TryAddWithoutValidation("Authorization", Key));

        Assert.Equal(400, status);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""" "last_image_url":"@I" """, "last_image_url: a last frame needs image_url")]
    [InlineData(""" "image_url":"@I","image_urls":["@I"] """, "cannot be combined")]
    [InlineData(""" "image_urls":["@I","@I","@I","@I","@I","@I","@I","@I","@I","@I"] """, "at most 9")]
    [InlineData(""" "image_urls":[] """, "image_urls must be a non-empty array")]
    [InlineData(""" "image_urls":["@I","not-an-image"] """, "image_urls[1] must be an image URL or a data URI")]
    [InlineData(""" "image_urls":["@U"] """, "image_urls[0]: the image could not be read")]
    public async Task AimlApiEmulator_SeedanceFrameInputsTheSchemaRefuses_400(string fields, string message)
    {
        await using var emulator = new AimlApiEmulator(new EmulatorOptions { ApiKey = Key });
        await emulator.StartAsync();
        var json = """{"model":"bytedance/seedance-2-0","prompt":"a fox",""" + fields.Replace("@I", await Png.Value, StringComparison.Ordinal).Replace("@U", Unreadable, StringComparison.Ordinal) + "}";

        var (status, text) = await PostAsync(emulator, "v2/video/generations", json, h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key));

        Assert.Equal(400, status);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }
}
