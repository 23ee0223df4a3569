using System.Text.Json.Nodes;
using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Routing;

namespace Reelay.Tests.Catalog;

/// <summary>
/// The catalog's reference and first_last slots (an upstream that sells those jobs as a separate model) and the body
/// placeholders that carry a last frame and reference images to catalog-rendered upstreams.
/// </summary>
public sealed class CatalogReferenceSlotTests
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Shipped;

    private static Job NewJob(string model, VideoMode mode, string? lastFrame = null, int references = 0)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal) { ["image_role"] = "first_frame" };
        if (lastFrame is not null)
        {
            options["reelay.last_frame_key"] = lastFrame;
        }

        if (references > 0)
        {
            options["reelay.reference_image_keys"] = "[" + string.Join(",", Enumerable.Range(0, references).Select(i => $"\"inputs/r{i}.png\"")) + "]";
        }

        return new Job
        {
            Id = Job.NewId(), Owner = "k", Model = model, Mode = mode, Prompt = "the fox", DurationSeconds = 5, Width = 1280, Height = 720,
            Options = options,
            Status = JobStatus.Queued, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, Deadline = DateTimeOffset.UnixEpoch,
        };
    }

    [Fact]
    public void DefaultUpstreamModel_Wan26OnDashScope_ReferenceSlotIsTheR2vModel()
    {
        Assert.Equal("wan2.6-r2v", Catalog.DefaultUpstreamModel("wan-2.6", "dashscope", VideoModes.Reference));
        Assert.Equal("wan2.6-t2v", Catalog.DefaultUpstreamModel("wan-2.6", "dashscope", VideoModes.TextToVideo));
        Assert.Null(Catalog.DefaultUpstreamModel("wan-2.6", "modelverse", VideoModes.Reference));
        Assert.Equal("fal-ai/veo3.1/reference-to-video", Catalog.DefaultUpstreamModel("veo-3.1", "fal", VideoModes.Reference));
    }

    [Theory]
    [InlineData(VideoMode.TextToVideo, null, 2, "r2v")]
    [InlineData(VideoMode.TextToVideo, null, 0, "t2v")]
    [InlineData(VideoMode.ImageToVideo, null, 0, "i2v")]
    [InlineData(VideoMode.ImageToVideo, "inputs/last.png", 0, "kf")]
    public void ModelFor_JobWithReferencesOrALastFrame_TheSlotsModelElseTheModes(VideoMode mode, string? last, int references, string expected)
    {
        var deployment = new Deployment("up", "t2v", "i2v", 0) { ReferenceModel = "r2v", FirstLastModel = "kf" };
        Assert.Equal(expected, deployment.ModelFor(NewJob("wan-2.6", mode, last, references)));
    }

    [Theory]
    [InlineData("wan-2.5", "wan2.6-r2v", "Reelay:Routes:wan-2.5:0:ReferenceModel is set, but model 'wan-2.5' has no reference mode")]
    [InlineData("wan-2.6", null, null)]
    [InlineData("wan-2.6", "wan2.6-r2v-flash", null)]
    public void Check_RouteReferenceModel_RefusedOnAModelWithoutReferenceImages(string model, string? referenceModel, string? error)
    {
        var options = new ReelayOptions();
        options.Providers["wan"] = new Reelay.Providers.ProviderInstanceOptions { Type = "dashscope", BaseUrl = "https://dashscope-intl.aliyuncs.com/api/v1", ApiKey = "sk-test-0123456789" };
        options.Routes[model] = [new Reelay.Providers.DeploymentOptions { Provider = "wan", ReferenceModel = referenceModel }];
        var factories = new Dictionary<string, Reelay.Providers.IProviderFactory>(StringComparer.OrdinalIgnoreCase) { ["dashscope"] = new Reelay.Providers.DashScope.DashScopeProviderFactory() };

        var errors = Reelay.Providers.ProviderRegistry.Check(options, factories, Catalog);

        if (error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Contains(errors, e => e.Contains(error, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void ModelFor_NoSlotModels_TheModesModel()
    {
        var deployment = new Deployment("up", "t2v", "i2v", 0);
        Assert.Equal("t2v", deployment.ModelFor(NewJob("seedance-2-0", VideoMode.TextToVideo, references: 3)));
        Assert.Equal("i2v", deployment.ModelFor(NewJob("seedance-2-0", VideoMode.ImageToVideo, lastFrame: "inputs/l.png")));
    }

    [Fact]
    public void RenderBody_SeedanceOnModelVerseWithReferenceImages_OneReferenceItemPerImageInOrder()
    {
        var upstream = Catalog.FindUpstream("modelverse", "doubao-seedance-2-0-260128")!;
        var job = NewJob("seedance-2-0", VideoMode.TextToVideo, references: 2);

        var body = upstream.RenderBody(new UpstreamRequestValues(job, "720p", "16:9", null, Catalog.OptionTypes("seedance-2-0")) { ReferenceImageDataUris = ["data:image/png;base64,QQ==", "data:image/png;base64,Qg=="] });

        var content = body["input"]!["content"]!.AsArray();
        Assert.Equal(3, content.Count);
        Assert.Equal("text", content[0]!["type"]!.GetValue<string>());
        Assert.Equal(["reference_image", "reference_image"], content.Skip(1).Select(c => c!["role"]!.GetValue<string>()).ToArray());
        Assert.Equal(["data:image/png;base64,QQ==", "data:image/png;base64,Qg=="], content.Skip(1).Select(c => c!["image_url"]!["url"]!.GetValue<string>()).ToArray());
    }

    [Fact]
    public void RenderBody_SeedanceOnModelVerseWithALastFrame_FirstThenLastFrameItems()
    {
        var upstream = Catalog.FindUpstream("modelverse", "doubao-seedance-2-0-260128")!;
        var job = NewJob("seedance-2-0", VideoMode.ImageToVideo, lastFrame: "inputs/l.png");

        var body = upstream.RenderBody(new UpstreamRequestValues(job, "720p", "16:9", "data:image/png;base64,Rg==", Catalog.OptionTypes("seedance-2-0")) { LastFrameDataUri = "data:image/png;base64,TA==" });

        var content = body["input"]!["content"]!.AsArray();
        Assert.Equal(["first_frame", "last_frame"], content.Skip(1).Select(c => c!["role"]!.GetValue<string>()).ToArray());
        Assert.Equal("data:image/png;base64,TA==", content[2]!["image_url"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public void RenderBody_KlingAndVeoOnModelVerseWithALastFrame_RawBase64InTheirFields()
    {
        var kling = Catalog.FindUpstream("modelverse", "kling-v2-6")!.RenderBody(new UpstreamRequestValues(NewJob("kling-v2-6", VideoMode.ImageToVideo, "inputs/l.png"), "1080p", null, "data:image/png;base64,Rg==", Catalog.OptionTypes("kling-v2-6")) { LastFrameDataUri = "data:image/png;base64,TA==" });
        var veo = Catalog.FindUpstream("modelverse", "veo-3.1-generate-001")!.RenderBody(new UpstreamRequestValues(NewJob("veo-3.1", VideoMode.ImageToVideo, "inputs/l.png"), "720p", "16:9", "data:image/png;base64,Rg==", Catalog.OptionTypes("veo-3.1")) { LastFrameDataUri = "data:image/jpeg;base64,TA==" });

        Assert.Equal("TA==", kling["parameters"]!["image_tail"]!.GetValue<string>());
        Assert.Equal("TA==", veo["input"]!["last_frame"]!["bytesBase64Encoded"]!.GetValue<string>());
        Assert.Equal("image/jpeg", veo["input"]!["last_frame"]!["mimeType"]!.GetValue<string>());
    }

    [Fact]
    public void RenderBody_AimlSeedanceWithoutExtraFrames_NoLastOrReferenceFields()
    {
        var upstream = Catalog.FindUpstream("aimlapi", "bytedance/seedance-2-0")!;
        var body = upstream.RenderBody(new UpstreamRequestValues(NewJob("seedance-2-0", VideoMode.TextToVideo), "720p", "16:9", null, Catalog.OptionTypes("seedance-2-0")));

        Assert.False(body.ContainsKey("last_image_url"));
        Assert.False(body.ContainsKey("image_urls"));
        Assert.IsType<JsonObject>(body);
    }
}
