using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Reelay.Catalog;
using Reelay.Emulators.AimlApi;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Providers;
using Reelay.Providers.AimlApi;
using Reelay.Providers.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Catalog;

/// <summary>
/// The upstream models the catalog describes with a request body (ModelVerse's and AI/ML API's Kling, Veo, Hailuo, Wan
/// and Seedance): each mode of each goes through its provider's EMULATOR (loopback; never the real service), which checks
/// the body against the model's page, and the exact body is pinned here.
/// </summary>
public sealed partial class CatalogUpstreamModelTests
{
    private const string Prompt = "a lighthouse at dusk";

    /// <summary>type, public model, upstream model, image?, width, height, seconds, tier, aspect, seed, options, expected body.</summary>
    public static IEnumerable<object?[]> Cases =>
    [
        new object?[] { "modelverse", "kling-v2-6", "kling-v2-6", false, 1920, 1080, 5, "1080p", "16:9", null, "negative_prompt=blur;audio=false",
            """{"model":"kling-v2-6","input":{"prompt":"a lighthouse at dusk","negative_prompt":"blur"},"parameters":{"mode":"pro","aspect_ratio":"16:9","duration":5}}""" },
        new object?[] { "modelverse", "kling-v2-6", "kling-v2-6", true, 1080, 1080, 10, "1080p", null, null, "audio=false",
            """{"model":"kling-v2-6","input":{"prompt":"a lighthouse at dusk"},"parameters":{"mode":"pro","duration":10,"image":"$BASE64"}}""" },
        new object?[] { "modelverse", "veo-3.1", "veo-3.1-generate-001", false, 1280, 720, 8, "720p", "16:9", null, "",
            """{"model":"veo-3.1-generate-001","input":{"prompt":"a lighthouse at dusk"},"parameters":{"resolution":"720p","duration":8,"aspect_ratio":"16:9","generate_audio":true}}""" },
        new object?[] { "modelverse", "veo-3.1-fast", "veo-3.1-fast-generate-001", true, 720, 1280, 4, "720p", "9:16", null, "negative_prompt=fog",
            """{"model":"veo-3.1-fast-generate-001","input":{"prompt":"a lighthouse at dusk","negative_prompt":"fog","image":{"bytesBase64Encoded":"$BASE64","mimeType":"$MIME"}},"parameters":{"resolution":"720p","duration":4,"aspect_ratio":"9:16","generate_audio":true}}""" },
        new object?[] { "modelverse", "hailuo-2.3", "MiniMax-Hailuo-2.3", false, 1366, 768, 10, "768p", null, null, "prompt_optimizer=true",
            """{"model":"MiniMax-Hailuo-2.3","input":{"prompt":"a lighthouse at dusk"},"parameters":{"duration":10,"resolution":"768P","prompt_optimizer":true}}""" },
        new object?[] { "modelverse", "hailuo-2.3", "MiniMax-Hailuo-2.3", true, 1920, 1080, 6, "1080p", null, null, "prompt_optimizer=false",
            """{"model":"MiniMax-Hailuo-2.3","input":{"prompt":"a lighthouse at dusk","first_frame_image":"$DATAURI"},"parameters":{"duration":6,"resolution":"1080P","prompt_optimizer":false}}""" },
        new object?[] { "modelverse", "wan-2.5", "Wan-AI/Wan2.5-T2V", false, 1280, 720, 5, "720p", "16:9", 42L, "prompt_extend=true;watermark=false",
            """{"model":"Wan-AI/Wan2.5-T2V","input":{"prompt":"a lighthouse at dusk"},"parameters":{"size":"1280x720","duration":5,"prompt_extend":true,"seed":42}}""" },
        new object?[] { "modelverse", "wan-2.5", "Wan-AI/Wan2.5-I2V", true, 1280, 720, 10, "720p", null, null, "prompt_extend=false",
            """{"model":"Wan-AI/Wan2.5-I2V","input":{"prompt":"a lighthouse at dusk","first_frame_url":"$DATAURI"},"parameters":{"resolution":"720p","duration":10,"enable_prompt_expansion":false}}""" },
        new object?[] { "modelverse", "wan-2.6", "Wan-AI/Wan2.6-T2V", false, 1080, 1920, 15, "1080p", "9:16", null, "prompt_extend=false;shot_type=multi",
            """{"model":"Wan-AI/Wan2.6-T2V","input":{"prompt":"a lighthouse at dusk"},"parameters":{"size":"1080x1920","duration":15,"prompt_extend":false,"shot_type":"multi"}}""" },
        new object?[] { "modelverse", "wan-2.6", "Wan-AI/Wan2.6-I2V", true, 1920, 1080, 5, "1080p", null, 7L, "prompt_extend=true;shot_type=single",
            """{"model":"Wan-AI/Wan2.6-I2V","input":{"prompt":"a lighthouse at dusk","img_url":"$DATAURI"},"parameters":{"resolution":"1080P","duration":5,"prompt_extend":true,"shot_type":"single","seed":7}}""" },
        new object?[] { "modelverse", "seedance-2-0", "doubao-seedance-2-0-260128", false, 1280, 720, 5, "720p", "16:9", null, "audio=true;camera_fixed=false;watermark=false;image_role=first_frame",
            """{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"a lighthouse at dusk"}]},"parameters":{"resolution":"720p","ratio":"16:9","duration":5,"camera_fixed":false,"watermark":false,"generate_audio":true}}""" },
        new object?[] { "modelverse", "seedance-2-0", "doubao-seedance-2-0-260128", true, 960, 960, 12, "720p", "1:1", 9L, "audio=false;camera_fixed=true;watermark=false;image_role=reference_image",
            """{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"a lighthouse at dusk"},{"type":"image_url","image_url":{"url":"$DATAURI"},"role":"reference_image"}]},"parameters":{"resolution":"720p","ratio":"1:1","duration":12,"seed":9,"camera_fixed":true,"watermark":false,"generate_audio":false}}""" },
        new object?[] { "aimlapi", "seedance-2-0", "bytedance/seedance-2-0", false, 1920, 1080, 15, "1080p", "16:9", null, "audio=true;camera_fixed=false;watermark=false;image_role=first_frame",
            """{"model":"bytedance/seedance-2-0","prompt":"a lighthouse at dusk","aspect_ratio":"16:9","resolution":"1080p","duration":15,"generate_audio":true,"watermark":false}""" },
        new object?[] { "aimlapi", "seedance-2-0", "bytedance/seedance-2-0", true, 864, 496, 4, "480p", "16:9", 3L, "audio=false;watermark=true;image_role=first_frame",
            """{"model":"bytedance/seedance-2-0","prompt":"a lighthouse at dusk","image_url":"$DATAURI","aspect_ratio":"16:9","resolution":"480p","duration":4,"generate_audio":false,"seed":3,"watermark":true}""" },
        new object?[] { "aimlapi", "hailuo-2.3", "minimax/hailuo-2.3", false, 1920, 1080, 6, "1080p", null, null, "prompt_optimizer=true",
            """{"model":"minimax/hailuo-2.3","prompt":"a lighthouse at dusk","duration":6,"resolution":"1080P","prompt_optimizer":true}""" },
        new object?[] { "aimlapi", "hailuo-2.3", "minimax/hailuo-2.3", true, 1366, 768, 10, "768p", null, null, "prompt_optimizer=true",
            """{"model":"minimax/hailuo-2.3","prompt":"a lighthouse at dusk","image_url":"$DATAURI","duration":10,"resolution":"768P","prompt_optimizer":true}""" },
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Submit_CatalogModel_SendsTheModelsBodyAndSucceedsAtTheEmulator(
        string type, string model, string upstream, bool image, int width, int height, int seconds, string tier, string? aspect, long? seed, string options, string expected)
    {
        await using var emulator = Emulator(type);
        await emulator.StartAsync();
        await using var adapter = AdapterUnderTest.Create(Factory(type), emulator);
        var job = Job(model, upstream, image ? await TestFiles.ImageAsync(640, 480, "jpg") : null, width, height, seconds, tier, aspect, seed, options);

        Assert.Null(adapter.Provider.CheckSupport(job.Job, upstream));
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = emulator.Requests.Single(r => r.Method == "POST");
        Assert.StartsWith("application/json", sent.ContentType, StringComparison.Ordinal);
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), Normalize(sent.Body));
        Assert.IsType<PollOutcome.Succeeded>(await adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
    }

    [Theory]
    [InlineData("modelverse", "kling-v2-6", "kling-v2-6", 1280, 720, 5, "720p", "", "resolution 720p is not offered (1080p)")]
    [InlineData("modelverse", "hailuo-2.3", "MiniMax-Hailuo-2.3", 1920, 1080, 10, "1080p", "", "duration 10 s is not offered at 1080p (6)")]
    [InlineData("modelverse", "wan-2.5", "Wan-AI/Wan2.5-T2V", 960, 960, 5, "720p", "", "size 960x960 is not offered")]
    [InlineData("modelverse", "wan-2.5", "Wan-AI/Wan2.5-T2V", 1280, 720, 5, "720p", "negative_prompt=fog", "option negative_prompt=fog is not offered")]
    [InlineData("aimlapi", "seedance-2-0", "bytedance/seedance-2-0", 1280, 720, 5, "720p", "image_role=reference_image", "option image_role=reference_image is not offered")]
    [InlineData("aimlapi", "hailuo-2.3", "minimax/hailuo-2.9", 1366, 768, 6, "768p", "", "upstream model 'minimax/hailuo-2.9' is not described in the catalog (upstreams.aimlapi)")]
    public async Task CheckSupport_JobTheUpstreamModelCannotServe_SaysWhy(string type, string model, string upstream, int width, int height, int seconds, string tier, string options, string reason)
    {
        await using var emulator = Emulator(type);
        await emulator.StartAsync();
        await using var adapter = AdapterUnderTest.Create(Factory(type), emulator);

        var why = adapter.Provider.CheckSupport(Job(model, upstream, null, width, height, seconds, tier, null, null, options).Job, upstream);

        Assert.NotNull(why);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"kling-v2-6","input":{"prompt":"x"},"parameters":{"mode":"pro","image":"data:image/png;base64,iVBORw0KGgo="}}""", "parameters.image must be an image URL or raw Base64")]
    [InlineData("""{"model":"veo-3.1-generate-001","input":{"prompt":"x"},"parameters":{"duration":8}}""", "parameters.generate_audio is required")]
    [InlineData("""{"model":"Wan-AI/Wan2.5-T2V","input":{"prompt":"x"},"parameters":{"size":"1280x720","duration":"5"}}""", "parameters.duration must be an integer")]
    [InlineData("""{"model":"MiniMax-Hailuo-2.3","input":{"prompt":"x"},"parameters":{"resolution":"1080p"}}""", "parameters.resolution must be one of 768P, 1080P")]
    [InlineData("""{"model":"doubao-seedance-2-0-260128","input":{"content":[{"type":"text","text":"x"}]},"parameters":{"aspect_ratio":"16:9"}}""", "parameters.aspect_ratio is not a field of this model")]
    public async Task Emulator_BodyAgainstTheModelsPage_RefusedWithTheField(string body, string message)
    {
        await using var emulator = new ModelVerseEmulator(Fast());
        await emulator.StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(emulator.ApiBaseUrl, "v1/tasks/submit")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Authorization", emulator.Options.ApiKey);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedCatalog_EveryModelWithAnUpstreamBody_IsCoveredByAWireCase()
    {
        var covered = Cases.Select(c => ((string)c[0]!, (string)c[2]!)).ToHashSet();
        var described = ModelCatalog.Shipped.Upstreams.Where(u => u.Body is not null).Select(u => (u.Type, u.Id)).ToList();

        Assert.NotEmpty(described);
        Assert.All(described, d => Assert.Contains(d, covered));
    }

    [Theory]
    [InlineData("""{"upstreams":{"modelverse":{"x":{"modes":["t2v"],"body":{"model":"{nope}"}}}}}""", "catalog upstreams.modelverse.'x': body uses the unknown placeholder '{nope}'")]
    [InlineData("""{"upstreams":{"aimlapi":{"y":{"modes":[]}}}}""", "catalog upstreams.aimlapi.'y': modes must be a non-empty list of t2v, i2v, first_last, reference")]
    [InlineData("""{"upstreams":{"modelverse":{"z":{"modes":["t2v"],"sizes":["big"]}}}}""", "catalog upstreams.modelverse.'z': sizes: 'big' is not a WxH size")]
    [InlineData("""{"models":{"hailuo-2.3":{"modes":["t2v"],"durations":{"values":[6]},"defaultDuration":6,"sizes":["1366x768"],"defaultSize":"1366x768","upstreamModels":{"modelverse":{"t2v":"MiniMax-Hailuo-9"}}}}}""", "catalog model 'hailuo-2.3': upstreamModels.modelverse.t2v names 'MiniMax-Hailuo-9', which upstreams.modelverse does not describe")]
    [InlineData("""{"models":{"wan-2.5":{"modes":["t2v"],"durations":{"values":[5]},"defaultDuration":5,"sizes":["1280x720"],"defaultSize":"1280x720","upstreamModels":{"dashscope":{"t2v":"wan2.5-t2v-preview","reference":"wan2.6-r2v"}}}}}""", "catalog model 'wan-2.5': upstreamModels.dashscope.reference is set, but the model has no reference mode")]
    [InlineData("""{"models":{"wan-2.6":{"modes":["t2v","reference"],"maxReferenceImages":2,"durations":{"values":[5]},"defaultDuration":5,"sizes":["1280x720"],"defaultSize":"1280x720","upstreamModels":{"dashscope":{"t2v":"wan2.6-t2v","reference":"wan2.6-t2v"}}}}}""", "upstreamModels.dashscope.reference names 'wan2.6-t2v', whose modes (t2v) do not include reference")]
    [InlineData("""{"models":{"wan-2.6":{"modes":["t2v","reference"],"maxReferenceImages":2,"durations":{"values":[5]},"defaultDuration":5,"sizes":["1280x720"],"defaultSize":"1280x720","upstreamModels":{"dashscope":{"t2v":"wan2.6-t2v","reference":"wan9-r2v"}}}}}""", "upstreamModels.dashscope.reference names 'wan9-r2v', which upstreams.dashscope does not describe")]
    [InlineData("""{"upstreams":{"modelverse":{"x":{"modes":["i2v","first_last"],"body":{"model":"{model}","image":"{image}"}}}}}""", "catalog upstreams.modelverse.'x': modes include first_last, but the body has no {last_frame} placeholder")]
    [InlineData("""{"upstreams":{"aimlapi":{"y":{"modes":["t2v","reference"],"maxReferenceImages":3,"body":{"model":"{model}"}}}}}""", "catalog upstreams.aimlapi.'y': modes include reference, but the body has no {reference_images} or {reference_image} placeholder")]
    public void Load_OperatorFileWithABadUpstreamEntry_NamesTheField(string json, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), "reelay-catalog-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => ModelCatalog.Load(path));
            Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    internal static EmulatorOptions Fast() => new() { ApiKey = "catalog-secret-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(50), RunTime = TimeSpan.FromMilliseconds(300) };

    private static UpstreamEmulator Emulator(string type) => type == "aimlapi" ? new AimlApiEmulator(Fast()) : new ModelVerseEmulator(Fast());

    private static IProviderFactory Factory(string type) => type == "aimlapi" ? new AimlApiProviderFactory() : new ModelVerseProviderFactory();

    private static ProviderJob Job(string model, string upstream, byte[]? image, int width, int height, int seconds, string tier, string? aspect, long? seed, string options)
    {
        var parsed = options.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(o => o.Split('=')).ToDictionary(o => o[0], o => o[1]);
        var job = AdapterUnderTest.Job(model, upstream, width, height, seconds, image, Prompt, parsed, tier);
        return new ProviderJob { Job = job.Job with { AspectRatio = aspect, Seed = seed }, UpstreamModel = upstream, OpenFirstFrame = job.OpenFirstFrame };
    }

    /// <summary>The sent body with its image bytes replaced by $DATAURI, $BASE64 and $MIME (their shape is what matters).</summary>
    private static string Normalize(string body)
    {
        var node = JsonNode.Parse(body)!;
        Replace(node);
        return node.ToJsonString();

        static void Replace(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var key in o.Select(p => p.Key).ToList())
                    {
                        if (o[key] is JsonValue v && v.TryGetValue<string>(out var s) && Token(s) is { } token)
                        {
                            o[key] = token;
                        }
                        else
                        {
                            Replace(o[key]);
                        }
                    }

                    break;
                case JsonArray a:
                    foreach (var item in a)
                    {
                        Replace(item);
                    }

                    break;
            }
        }

        static string? Token(string s) =>
            s.StartsWith("data:image/", StringComparison.Ordinal) && s.Contains(";base64,", StringComparison.Ordinal) ? "$DATAURI"
            : MimeType().IsMatch(s) ? "$MIME"
            : s.Length > 200 && Base64().IsMatch(s) ? "$BASE64"
            : null;
    }

    [GeneratedRegex("^image/(png|jpeg|webp)$")]
    private static partial Regex MimeType();

    [GeneratedRegex("^[A-Za-z0-9+/]+=*$")]
    private static partial Regex Base64();
}
