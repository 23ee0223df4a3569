using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Reelay.Emulators.DashScope;
using Reelay.Emulators.Fal;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Kling;
using Reelay.Emulators.Seedance;
using Reelay.Emulators.Veo;
using Reelay.Server.Tests.Providers.Kling;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Conformance;

/// <summary>
/// The EMULATORS refuse last frames and reference images the way provider-apis-live.md says their upstreams do
/// (exclusivity, counts, roles), each with a 400 in the upstream's own error shape.
/// </summary>
public sealed class FrameInputsEmulatorTests
{
    private const string Key = "frames-secret-key-123456";
    private static readonly Lazy<Task<string>> Png = new(async () => Convert.ToBase64String(await TestFiles.ImageAsync(640, 480)));

    private static async Task<(int Status, JsonElement Body)> PostAsync(UpstreamEmulator emulator, string path, string json, Action<HttpRequestHeaders> auth)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.ApiBaseUrl, path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        auth(request.Headers);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Theory]
    [InlineData("""[{"type":"image_url","image_url":{"url":"@I"},"role":"last_frame"}]""", "dreamina-seedance-2-0-260128")]
    [InlineData("""[{"type":"image_url","image_url":{"url":"@I"}},{"type":"image_url","image_url":{"url":"@I"},"role":"last_frame"}]""", "dreamina-seedance-2-0-260128")]
    [InlineData("""[{"type":"image_url","image_url":{"url":"@I"},"role":"first_frame"},{"type":"image_url","image_url":{"url":"@I"},"role":"reference_image"}]""", "dreamina-seedance-2-0-260128")]
    [InlineData("""[@R,@R,@R,@R,@R]""", "seedance-1-0-lite-i2v-250428")]
    [InlineData("""[{"type":"image_url","image_url":{"url":"@I"},"role":"first_frame"},{"type":"image_url","image_url":{"url":"@I"},"role":"last_frame"}]""", "seedance-1-0-pro-fast-251015")]
    [InlineData("""[@R]""", "seedance-1-5-pro-251215")]
    public async Task SeedanceEmulator_ImageRolesTheModelRefuses_400InvalidParameterOnContentRole(string items, string model)
    {
        await using var emulator = new SeedanceEmulator(new EmulatorOptions { ApiKey = Key });
        await emulator.StartAsync();
        var image = "data:image/png;base64," + await Png.Value;
        var content = items.Replace("@R", """{"type":"image_url","image_url":{"url":"@I"},"role":"reference_image"}""", StringComparison.Ordinal).Replace("@I", image, StringComparison.Ordinal);
        var (status, body) = await PostAsync(emulator, "contents/generations/tasks", $$"""{"model":"{{model}}","content":[{"type":"text","text":"a fox"},{{content[1..^1]}}],"duration":5}""", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key));
        Assert.Equal(400, status);
        Assert.Equal("InvalidParameter", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("content.role", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"image":{"inlineData":{"mimeType":"image/png","data":"@D"}},"lastFrame":{"inlineData":{"mimeType":"image/png","data":"bm90IGFuIGltYWdl"}}}""", "lastFrame")]
    [InlineData("""{"lastFrame":{"inlineData":{"mimeType":"image/png","data":"@D"}}}""", "lastFrame needs")]
    [InlineData("""{"image":{"inlineData":{"mimeType":"image/png","data":"@D"}},"referenceImages":[@R]}""", "cannot be combined")]
    [InlineData("""{"referenceImages":[@R,@R,@R,@R]}""", "1 to 3")]
    [InlineData("""{"referenceImages":[{"image":{"inlineData":{"mimeType":"image/png","data":"@D"}},"referenceType":"person"}]}""", "referenceImages[0]")]
    [InlineData("""{"referenceImages":[@R]}""", "must be 8")]
    public async Task VeoEmulator_FrameInputsTheApiRefuses_400InvalidArgumentNamingTheField(string instance, string message)
    {
        await using var emulator = new VeoEmulator(new EmulatorOptions { ApiKey = Key });
        await emulator.StartAsync();
        var data = await Png.Value;
        var json = instance.Replace("@R", """{"image":{"bytesBase64Encoded":"@D","mimeType":"image/png"},"referenceType":"asset"}""", StringComparison.Ordinal).Replace("@D", data, StringComparison.Ordinal);
        var seconds = message == "must be 8" ? 6 : 8;
        var (status, body) = await PostAsync(emulator, "models/veo-3.1-generate-preview:predictLongRunning",
            """{"instances":[{"prompt":"a fox",""" + json[1..^1] + """}],"parameters":{"aspectRatio":"16:9","resolution":"720p","durationSeconds":""" + seconds + "}}",
            h => h.Add("x-goog-api-key", Key));
        Assert.Equal(400, status);
        Assert.Equal("INVALID_ARGUMENT", body.GetProperty("error").GetProperty("status").GetString());
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image_tail", "\"image_tail\":\"data:image/png;base64,@D\"")]
    [InlineData("mutually exclusive", "\"image_tail\":\"@D\",\"camera_control\":{\"type\":\"simple\"}")]
    public async Task KlingEmulator_BadImageTail_400Code1201(string message, string fields)
    {
        await using var emulator = new KlingEmulator(new EmulatorOptions { ApiKey = KlingProviderTests.Key });
        await emulator.StartAsync();
        var data = await Png.Value;
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(KlingProviderTests.SecretKey));
        var token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = KlingProviderTests.AccessKey, NotBefore = DateTime.UtcNow.AddSeconds(-5), Expires = DateTime.UtcNow.AddMinutes(30), SigningCredentials = new SigningCredentials(secret, SecurityAlgorithms.HmacSha256),
        });
        var (status, body) = await PostAsync(emulator, "v1/videos/image2video",
            $$"""{"model_name":"kling-v2-6","prompt":"a fox","mode":"std","duration":"5","image":"{{data}}",{{fields.Replace("@D", data, StringComparison.Ordinal)}} }""",
            h => h.Authorization = new AuthenticationHeaderValue("Bearer", token));
        Assert.Equal(400, status);
        Assert.Equal(1201, body.GetProperty("code").GetInt32());
        Assert.Contains(message, body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fal-ai/veo3.1/image-to-video", "extra_forbidden")]
    [InlineData("fal-ai/bytedance/seedance/v1/pro/image-to-video", "image_load_error")]
    public async Task FalEmulator_EndImageTheModelRefusesOrCannotRead_422DetailOnEndImageUrl(string model, string type)
    {
        await using var emulator = new FalEmulator(new EmulatorOptions { ApiKey = "fal-key-id:" + Key });
        await emulator.StartAsync();
        var image = "data:image/png;base64," + await Png.Value;
        var end = type == "extra_forbidden" ? image : "data:image/png;base64,bm90IGFuIGltYWdl";
        var duration = model.Contains("veo", StringComparison.Ordinal) ? "8s" : "5";
        var (status, body) = await PostAsync(emulator, model, $$"""{"prompt":"a fox","image_url":"{{image}}","end_image_url":"{{end}}","duration":"{{duration}}"}""",
            h => h.TryAddWithoutValidation("Authorization", "Key fal-key-id:" + Key));
        Assert.Equal(422, status);
        var detail = body.GetProperty("detail")[0];
        Assert.Equal(type, detail.GetProperty("type").GetString());
        Assert.Equal("end_image_url", detail.GetProperty("loc")[1].GetString());
    }

    [Theory]
    [InlineData("wan2.7-i2v", """[{"type":"last_frame","url":"@I"}]""")]
    [InlineData("wan2.7-i2v", """[{"type":"first_frame","url":"@I"},{"type":"last_frame","url":"@I"},{"type":"last_frame","url":"@I"}]""")]
    [InlineData("wan2.7-i2v", """[{"type":"first_frame","url":"@I"},{"type":"reference_image","url":"@I"}]""")]
    [InlineData("wan2.7-i2v", """[{"type":"first_frame","url":"@I"},{"type":"last_frame","url":"data:image/png;base64,bm90IGFuIGltYWdl"}]""")]
    public async Task DashScopeEmulator_MediaCombinationTheApiRefuses_400InvalidParameter(string model, string media)
    {
        await using var emulator = new DashScopeEmulator(new EmulatorOptions { ApiKey = "sk-" + Key });
        await emulator.StartAsync();
        var items = media.Replace("@I", "data:image/png;base64," + await Png.Value, StringComparison.Ordinal);
        var (status, body) = await PostAsync(emulator, "services/aigc/video-generation/video-synthesis",
            $$"""{"model":"{{model}}","input":{"prompt":"a fox","media":{{items}} },"parameters":{"resolution":"720P","duration":5} }""",
            h =>
            {
                h.Authorization = new AuthenticationHeaderValue("Bearer", "sk-" + Key);
                h.Add("X-DashScope-Async", "enable");
            });
        Assert.Equal(400, status);
        Assert.Equal("InvalidParameter", body.GetProperty("code").GetString());
    }
}
