using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Emulators.Seedance;
using Reelay.Emulators.Veo;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>
/// Issue 15, characters through upstreams, end to end: a real gateway, a character made through the OpenAI dialect
/// (POST /v1/videos/characters), and a video naming it routed to an upstream EMULATOR (loopback; never the real service).
/// The OpenAI-compatible upstream gets the character created there once and named by its own id in the create request;
/// Seedance, which has no character API, gets the character's still (one ffmpeg frame of a video character) as a
/// reference image.
/// </summary>
public sealed class CharactersUpstreamGatewayTests
{
    private static EmulatorOptions Fast(string key) => new() { ApiKey = key, QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMilliseconds(500) };

    [Fact]
    public async Task Create_CharacterRoutedToOpenAICompatible_CreatedUpstreamOnceAndNamedByItsUpstreamId()
    {
        await using var upstream = new OpenAICompatibleEmulator(Fast("oa-characters-key-0123"));
        await upstream.StartAsync();
        var settings = Settings(upstream);
        var data = Path.Combine(Path.GetTempPath(), "reelay-characters-" + Guid.NewGuid().ToString("N"));
        try
        {
            string characterId, apiKey;
            OpenAICompatibleEmulator.EmulatedCharacter made;
            await using (var gateway = await ReelayTestServer.StartAsync(settings, data))
            {
                apiKey = gateway.ApiKey;
                var clip = await ClipAsync();
                characterId = await CreateCharacterAsync(gateway, "Captain Reel", clip, "captain.mp4");

                var first = await GatewayWithEmulators.CreateAsync(gateway, new { model = "sora-2", prompt = "Captain Reel waves", seconds = "4", size = "1280x720", characters = new[] { characterId } });
                var done = await GatewayWithEmulators.WaitAsync(gateway, first);
                Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());

                made = Assert.Single(upstream.Characters);
                Assert.Equal(("Captain Reel", "video/mp4", (long)clip.Length), (made.Name, made.MediaType, made.Length));
                Assert.NotEqual(characterId, made.Id);
                var create = Assert.Single(upstream.Requests, r => r is { Method: "POST", PathAndQuery: "/v1/videos" });
                Assert.StartsWith("application/json", create.ContentType, StringComparison.Ordinal);
                Assert.Equal(made.Id, Assert.Single(create.Json.GetProperty("characters").EnumerateArray()).GetProperty("id").GetString());
                Assert.Equal($"{made.Id} (Captain Reel)", Assert.Single(upstream.Tasks.All).Extra["characters"]);
            }

            // A restart on the same data folder: the upstream id is read back from the storage, checked, and reused.
            await using (var gateway = await ReelayTestServer.StartAsync(settings, data, apiKey))
            {
                var second = await GatewayWithEmulators.CreateAsync(gateway, new { model = "sora-2", prompt = "Captain Reel bows", seconds = "4", size = "1280x720", characters = new[] { characterId } });
                Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, second)).GetProperty("status").GetString());
                Assert.Single(upstream.Characters);
                Assert.Contains(upstream.Requests, r => r is { Method: "GET" } && r.PathAndQuery == "/v1/videos/characters/" + made.Id);

                // The upstream forgot it (deleted there): the next job uploads it again instead of failing.
                upstream.ForgetCharacters();
                var third = await GatewayWithEmulators.CreateAsync(gateway, new { model = "sora-2", prompt = "Captain Reel returns", seconds = "4", size = "1280x720", characters = new[] { characterId } });
                Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, third)).GetProperty("status").GetString());
                var remade = Assert.Single(upstream.Characters);
                Assert.NotEqual(made.Id, remade.Id);
                Assert.Equal(3, upstream.Tasks.All.Count(t => t.Extra.GetValueOrDefault("characters")?.EndsWith("(Captain Reel)", StringComparison.Ordinal) == true));
            }
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task Create_CharacterUploadRefusedForQuota_FailsUpstreamQuotaWithoutCreatingTheVideo()
    {
        await using var upstream = new OpenAICompatibleEmulator(Fast("oa-characters-key-4567"));
        await upstream.StartAsync();
        await using var gateway = await ReelayTestServer.StartAsync(Settings(upstream));
        var characterId = await CreateCharacterAsync(gateway, "Captain Reel", await TestFiles.ImageAsync(64, 64), "captain.png");
        upstream.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());

        var id = await GatewayWithEmulators.CreateAsync(gateway, new { model = "sora-2", prompt = "Captain Reel waves", seconds = "4", size = "1280x720", characters = new[] { characterId } });
        var video = await GatewayWithEmulators.WaitAsync(gateway, id);

        Assert.Equal("failed", video.GetProperty("status").GetString());
        Assert.Equal("upstream_quota", video.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(upstream.Requests, r => r is { Method: "POST", PathAndQuery: "/v1/videos/characters" });
        Assert.DoesNotContain(upstream.Requests, r => r is { Method: "POST", PathAndQuery: "/v1/videos" });
        Assert.Empty(upstream.Tasks.All);
    }

    [Fact]
    public async Task Create_CharactersRoutedToSeedance_SentAsReferenceImagesAVideoOneAsAFrame()
    {
        await using var upstream = new SeedanceEmulator(Fast("seedance-characters-key-0123"));
        await upstream.StartAsync();
        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("ark", "seedance", upstream),
            new() { ["Reelay:Routes:seedance-2-0:0:Provider"] = "ark" }));
        // Seedance takes images of 300 to 6000 pixels a side.
        var png = await TestFiles.ImageAsync(400, 300);
        var fromVideo = await CreateCharacterAsync(gateway, "Captain Reel", await ClipAsync(480, 320), "captain.mp4");
        var fromImage = await CreateCharacterAsync(gateway, "First Mate", png, "mate.png");

        var id = await GatewayWithEmulators.CreateAsync(gateway, new { model = "seedance-2-0", prompt = "Captain Reel and First Mate", seconds = "5", size = "1280x720", characters = new[] { fromVideo, fromImage } });
        var video = await GatewayWithEmulators.WaitAsync(gateway, id);

        Assert.True(video.GetProperty("status").GetString() == "completed", video.ToString());
        var submit = Assert.Single(upstream.Requests, r => r.Method == "POST").Json;
        var images = submit.GetProperty("content").EnumerateArray().Where(c => c.GetProperty("type").GetString() == "image_url").ToList();
        Assert.Equal(["reference_image", "reference_image"], images.Select(i => i.GetProperty("role").GetString()!).ToArray());
        var frame = images[0].GetProperty("image_url").GetProperty("url").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", frame, StringComparison.Ordinal);
        var jpeg = Convert.FromBase64String(frame[(frame.IndexOf(',', StringComparison.Ordinal) + 1)..]);
        var info = Reelay.Media.ImageInfo.Sniff(jpeg);
        Assert.NotNull(info);
        Assert.Equal((480, 320), (info.Width, info.Height));
        Assert.Equal("data:image/png;base64," + Convert.ToBase64String(png), images[1].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task Create_CharacterRoutedToVeo_SentAsAnAssetReferenceImage()
    {
        await using var upstream = new VeoEmulator(Fast("veo-characters-key-0123"));
        await upstream.StartAsync();
        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("gemini", "veo", upstream),
            new() { ["Reelay:Routes:veo-3.1:0:Provider"] = "gemini" }));
        var png = await TestFiles.ImageAsync(96, 64);
        var character = await CreateCharacterAsync(gateway, "First Mate", png, "mate.png");

        var id = await GatewayWithEmulators.CreateAsync(gateway, new { model = "veo-3.1", prompt = "First Mate on deck", seconds = "8", size = "1280x720", characters = new[] { character } });
        var video = await GatewayWithEmulators.WaitAsync(gateway, id);

        Assert.True(video.GetProperty("status").GetString() == "completed", video.ToString());
        var instance = Assert.Single(upstream.Requests, r => r.Method == "POST" && r.Body.Length > 100).Json.GetProperty("instances")[0];
        var reference = Assert.Single(instance.GetProperty("referenceImages").EnumerateArray());
        Assert.Equal("asset", reference.GetProperty("referenceType").GetString());
        Assert.Equal(Convert.ToBase64String(png), reference.GetProperty("image").GetProperty("inlineData").GetProperty("data").GetString());
    }

    [Fact]
    public async Task Create_CharacterWithAFirstFrameOnSeedance_UnsupportedModelSayingWhy()
    {
        await using var upstream = new SeedanceEmulator(Fast("seedance-characters-key-4567"));
        await upstream.StartAsync();
        await using var gateway = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("ark", "seedance", upstream),
            new() { ["Reelay:Routes:seedance-2-0:0:Provider"] = "ark" }));
        var png = await TestFiles.ImageAsync(1280, 720);
        var character = await CreateCharacterAsync(gateway, "First Mate", png, "mate.png");

        using var response = await gateway.Http.PostAsJsonAsync("/v1/videos", new { model = "seedance-2-0", prompt = "p", seconds = "5", size = "1280x720", characters = new[] { character }, input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(png) } });
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("unsupported_model", error.GetProperty("code").GetString());
        Assert.Contains("does not combine with a first or last frame", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(upstream.Requests, r => r.Method == "POST");
    }

    [Fact]
    public async Task Emulator_CreateNamingAnUnknownCharacter_400ParamCharacters()
    {
        await using var upstream = new OpenAICompatibleEmulator(Fast("oa-characters-key-8901"));
        await upstream.StartAsync();
        using var http = new HttpClient { BaseAddress = upstream.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", "oa-characters-key-8901");

        using var response = await http.PostAsJsonAsync("/v1/videos", new { model = "sora-2", prompt = "p", seconds = "4", size = "1280x720", characters = new[] { new { id = "char_unknown" } } });
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("characters", error.GetProperty("param").GetString());
        Assert.Contains("char_unknown", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(upstream.Tasks.All);
    }

    private static Dictionary<string, string?> Settings(OpenAICompatibleEmulator upstream) => GatewayWithEmulators.Merge(
        GatewayWithEmulators.Instance("oa", "openai", upstream),
        new() { ["Reelay:Providers:oa:BaseUrl"] = new Uri(upstream.BaseUrl, "v1").AbsoluteUri, ["Reelay:Routes:sora-2:0:Provider"] = "oa" });

    private static async Task<string> CreateCharacterAsync(ReelayTestServer gateway, string name, byte[] media, string fileName)
    {
        using var form = new MultipartFormDataContent { { new StringContent(name), "name" }, { new ByteArrayContent(media), "video", fileName } };
        using var response = await gateway.Http.PostAsync("/v1/videos/characters", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>A one-second H.264 clip from ffmpeg's test source.</summary>
    private static async Task<byte[]> ClipAsync(int width = 160, int height = 120)
    {
        var path = Path.Combine(Path.GetTempPath(), $"reelay-clip-{Guid.NewGuid():N}.mp4");
        try
        {
            var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
            foreach (var a in new[] { "-v", "error", "-y", "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate=10:duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path })
            {
                psi.ArgumentList.Add(a);
            }

            using var process = Process.Start(psi)!;
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, error);
            return await File.ReadAllBytesAsync(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
