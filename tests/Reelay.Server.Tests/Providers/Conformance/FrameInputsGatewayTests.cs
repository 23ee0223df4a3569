using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Emulators.AimlApi;
using Reelay.Emulators.DashScope;
using Reelay.Emulators.Fal;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Kling;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.Seedance;
using Reelay.Emulators.Veo;
using Reelay.Server.Tests.Providers.Kling;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Conformance;

/// <summary>
/// Every mode a provider type offers beyond a first frame, end to end: a real gateway (AI/ML API dialect, which names the
/// last frame last_image_url and reference images image_urls) routed to the provider's EMULATOR (loopback; never the
/// real service). The job must complete, and the emulator must have received the inputs in the upstream's own fields:
/// the native types (Seedance, Kling, Veo, fal, DashScope, reference images through the catalog's reference slot where
/// the upstream sells them as a separate model) and the catalog-rendered bodies of ModelVerse and AI/ML API.
/// </summary>
public sealed class FrameInputsGatewayTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "seedance", "first_last" },
        { "seedance", "reference" },
        { "kling", "first_last" },
        { "veo", "first_last" },
        { "veo", "reference" },
        { "fal", "first_last" },
        { "fal", "reference" },
        { "dashscope", "first_last" },
        { "dashscope", "reference" },
        { "modelverse", "first_last" },
        { "modelverse", "reference" },
        { "modelverse-veo", "first_last" },
        { "modelverse-kling", "first_last" },
        { "aimlapi", "first_last" },
        { "aimlapi", "reference" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Submit_ExtraInputsThroughTheGateway_CompletesAndTheEmulatorGotThemInItsFields(string type, string mode)
    {
        var image = await TestFiles.ImageAsync(640, 480);
        var last = await TestFiles.ImageAsync(480, 480);
        var options = new EmulatorOptions { ApiKey = type switch { "kling" => KlingProviderTests.Key, "dashscope" => "sk-frames-secret-123456", _ => "frames-secret-key-123456" }, RunTime = TimeSpan.FromMilliseconds(500), QueueTime = TimeSpan.FromMilliseconds(100) };
        await using UpstreamEmulator emulator = type switch
        {
            "seedance" => new SeedanceEmulator(options),
            "kling" => new KlingEmulator(options),
            "veo" => new VeoEmulator(options),
            "dashscope" => new DashScopeEmulator(options),
            "modelverse" or "modelverse-veo" or "modelverse-kling" => new ModelVerseEmulator(options),
            "aimlapi" => new AimlApiEmulator(options),
            _ => new FalEmulator(options),
        };
        await emulator.StartAsync();
        var (model, seconds) = (type, mode) switch
        {
            ("seedance", _) => ("seedance-2-0", 5),
            ("kling" or "modelverse-kling", _) => ("kling-v2-6", 5),
            ("veo" or "modelverse-veo", _) or ("fal", "reference") => ("veo-3.1", 8),
            ("dashscope", "reference") => ("wan-2.6", 5),
            ("dashscope", _) => ("wan-2.7", 5),
            _ => ("seedance-2-0", 5),
        };
        var providerType = type.StartsWith("modelverse", StringComparison.Ordinal) ? "modelverse" : type;
        var route = new Dictionary<string, string?> { [$"Reelay:Routes:{model}:0:Provider"] = "up" };
        if (type == "fal" && mode == "first_last")
        {
            // fal's Seedance 2.0 endpoint names no last-frame input; Seedance 1.0 pro's takes end_image_url.
            route[$"Reelay:Routes:{model}:0:ImageModel"] = "fal-ai/bytedance/seedance/v1/pro/image-to-video";
        }

        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(GatewayWithEmulators.Instance("up", providerType, emulator), route));
        var uri = (byte[] bytes) => "data:image/png;base64," + Convert.ToBase64String(bytes);
        // ModelVerse routes Kling 2.6 at 1080p (pro) only.
        object body = mode == "first_last"
            ? type == "modelverse-kling"
                ? new { model, prompt = "the door opens", duration = seconds, image_url = uri(image), last_image_url = uri(last), resolution = "1080p" }
                : new { model, prompt = "the door opens", duration = seconds, image_url = uri(image), last_image_url = uri(last) }
            : new { model, prompt = "the fox and the hat", duration = seconds, image_urls = new[] { uri(image), uri(last), uri(image) } };
        using var response = await gateway.Http.PostAsJsonAsync("/v2/video/generations", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;

        var video = await GatewayWithEmulators.WaitAsync(gateway, id);
        Assert.True(video.GetProperty("status").GetString() == "completed", video.ToString());
        Assert.Contains("duration=" + seconds, await GatewayWithEmulators.ProbeContentAsync(gateway, id), StringComparison.Ordinal);

        var submit = Assert.Single(emulator.Requests, r => r.Method == "POST" && r.Body.Length > 100).Json;
        switch (type, mode)
        {
            case ("seedance", "first_last"):
                Assert.Equal(["first_frame", "last_frame"], Roles(submit));
                break;
            case ("seedance", _):
                Assert.Equal(["reference_image", "reference_image", "reference_image"], Roles(submit));
                break;
            case ("kling", _):
                Assert.Equal(Convert.ToBase64String(last), submit.GetProperty("image_tail").GetString());
                Assert.Equal(Convert.ToBase64String(image), submit.GetProperty("image").GetString());
                break;
            case ("veo", "first_last"):
                var instance = submit.GetProperty("instances")[0];
                Assert.Equal(Convert.ToBase64String(last), instance.GetProperty("lastFrame").GetProperty("inlineData").GetProperty("data").GetString());
                Assert.True(instance.TryGetProperty("image", out _));
                break;
            case ("veo", _):
                var references = submit.GetProperty("instances")[0].GetProperty("referenceImages");
                Assert.Equal(3, references.GetArrayLength());
                Assert.All(references.EnumerateArray(), r => Assert.Equal("asset", r.GetProperty("referenceType").GetString()));
                Assert.False(submit.GetProperty("instances")[0].TryGetProperty("image", out _));
                Assert.Equal(8, submit.GetProperty("parameters").GetProperty("durationSeconds").GetInt32());
                break;
            case ("dashscope", "first_last"):
                var media = submit.GetProperty("input").GetProperty("media");
                Assert.Equal(["first_frame", "last_frame"], media.EnumerateArray().Select(m => m.GetProperty("type").GetString()!).ToArray());
                Assert.Equal(uri(last), media[1].GetProperty("url").GetString());
                break;
            case ("dashscope", _):
                // The catalog's reference slot: wan2.6-r2v, with the images in order (character1, character2, …) and a size.
                Assert.Equal("wan2.6-r2v", submit.GetProperty("model").GetString());
                Assert.Equal([uri(image), uri(last), uri(image)], submit.GetProperty("input").GetProperty("reference_urls").EnumerateArray().Select(r => r.GetString()!).ToArray());
                Assert.False(submit.GetProperty("input").TryGetProperty("img_url", out _));
                Assert.Equal("1280*720", submit.GetProperty("parameters").GetProperty("size").GetString());
                break;
            case ("fal", "reference"):
                Assert.Contains(emulator.Requests, r => r.Method == "POST" && r.PathAndQuery.StartsWith("/fal-ai/veo3.1/reference-to-video", StringComparison.Ordinal));
                Assert.Equal([uri(image), uri(last), uri(image)], submit.GetProperty("image_urls").EnumerateArray().Select(r => r.GetString()!).ToArray());
                Assert.Equal("8s", submit.GetProperty("duration").GetString());
                Assert.False(submit.TryGetProperty("image_url", out _));
                break;
            case ("modelverse", "first_last"):
                Assert.Equal(["first_frame", "last_frame"], Roles(submit.GetProperty("input")));
                Assert.Equal(uri(last), submit.GetProperty("input").GetProperty("content")[2].GetProperty("image_url").GetProperty("url").GetString());
                break;
            case ("modelverse", _):
                Assert.Equal(["reference_image", "reference_image", "reference_image"], Roles(submit.GetProperty("input")));
                break;
            case ("modelverse-veo", _):
                var lastFrame = submit.GetProperty("input").GetProperty("last_frame");
                Assert.Equal(Convert.ToBase64String(last), lastFrame.GetProperty("bytesBase64Encoded").GetString());
                Assert.Equal("image/png", lastFrame.GetProperty("mimeType").GetString());
                break;
            case ("modelverse-kling", _):
                Assert.Equal(Convert.ToBase64String(last), submit.GetProperty("parameters").GetProperty("image_tail").GetString());
                Assert.Equal(Convert.ToBase64String(image), submit.GetProperty("parameters").GetProperty("image").GetString());
                break;
            case ("aimlapi", "first_last"):
                Assert.Equal(uri(last), submit.GetProperty("last_image_url").GetString());
                Assert.Equal(uri(image), submit.GetProperty("image_url").GetString());
                break;
            case ("aimlapi", _):
                Assert.Equal([uri(image), uri(last), uri(image)], submit.GetProperty("image_urls").EnumerateArray().Select(r => r.GetString()!).ToArray());
                Assert.False(submit.TryGetProperty("image_url", out _));
                break;
            default:
                Assert.Equal(uri(last), submit.GetProperty("end_image_url").GetString());
                Assert.Equal(uri(image), submit.GetProperty("image_url").GetString());
                break;
        }
    }

    [Theory]
    [InlineData("kling-v2-6", "image_urls", "does not take reference images")]
    [InlineData("veo-3.1", "image_urls[3]", "at most 3 reference images")]
    [InlineData("veo-3.1-lastonly", "last_image_url", "needs a first frame")]
    [InlineData("veo-3.1-both", "image_urls", "not both")]
    public async Task Submit_InputTheModelCannotTake_400NamingTheField(string model, string field, string message)
    {
        var image = "data:image/png;base64," + Convert.ToBase64String(await TestFiles.ImageAsync(640, 480));
        await using var gateway = await ReelayTestServer.StartAsync(new() { ["Reelay:Sandbox:StandInFor:0"] = "*" });
        object body = model switch
        {
            "kling-v2-6" => new { model, prompt = "p", duration = 5, image_urls = new[] { image } },
            "veo-3.1" => new { model, prompt = "p", duration = 8, image_urls = new[] { image, image, image, image } },
            "veo-3.1-lastonly" => new { model = "veo-3.1", prompt = "p", duration = 8, last_image_url = image },
            _ => new { model = "veo-3.1", prompt = "p", duration = 8, image_url = image, image_urls = new[] { image } },
        };
        using var response = await gateway.Http.PostAsJsonAsync("/v2/video/generations", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(field, text, StringComparison.Ordinal);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    private static string[] Roles(JsonElement submit) =>
        submit.GetProperty("content").EnumerateArray().Where(c => c.GetProperty("type").GetString() == "image_url").Select(c => c.GetProperty("role").GetString()!).ToArray();
}
