using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Media;

namespace Reelay.Tests.Catalog;

/// <summary>The catalog's modes first_last and reference: which model takes a last frame or reference images, as data.</summary>
public sealed class CatalogFrameInputsTests
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Load();
    private static readonly ImageInfo Frame = new("png", 1280, 720);

    private static InputImage Image(string param) => new() { Url = new Uri("https://example.com/" + param + ".png"), Param = param };

    private static List<InputImage> References(int count) => Enumerable.Range(0, count).Select(i => Image($"image_urls[{i}]")).ToList();

    private static JobRequest Request(string model, bool first = false, bool last = false, int references = 0, int? seconds = null) => new()
    {
        Model = model,
        Prompt = "the fox",
        DurationSeconds = seconds,
        FirstFrame = first ? Image("image_url") : null,
        LastFrame = last ? Image("last_image_url") : null,
        ReferenceImages = references > 0 ? References(references) : null,
        Owner = "key_test",
    };

    private static ReelayException Invalid(JobRequest request) => Assert.Throws<ReelayException>(() => Catalog.Validate(request, request.FirstFrame is null ? null : Frame));

    [Theory]
    [InlineData("seedance-2-0", 5)]
    [InlineData("kling-v2-6", 5)]
    [InlineData("veo-3.1", 8)]
    [InlineData("sandbox", 4)]
    public void Validate_FirstAndLastFrameOnAModelThatTakesThem_ImageToVideo(string model, int seconds)
    {
        var spec = Catalog.Validate(Request(model, first: true, last: true, seconds: seconds), Frame);
        Assert.Equal(VideoMode.ImageToVideo, spec.Mode);
    }

    [Theory]
    [InlineData("seedance-2-0", 9, 5)]
    [InlineData("veo-3.1", 3, 8)]
    [InlineData("sandbox", 4, 4)]
    public void Validate_ReferenceImagesUpToTheModelsMaximum_TextToVideoWithReferences(string model, int count, int seconds)
    {
        var spec = Catalog.Validate(Request(model, references: count, seconds: seconds), null);
        Assert.Equal(VideoMode.TextToVideo, spec.Mode);
    }

    [Fact]
    public void Validate_LastFrameWithoutFirstFrame_InvalidNamingTheLastFrameField()
    {
        var error = Invalid(Request("seedance-2-0", last: true, seconds: 5));
        Assert.Equal((ErrorCodes.InvalidRequest, "last_image_url"), (error.Error.Code, error.Error.Param));
        Assert.Contains("needs a first frame", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sora-2", "first_last")]
    [InlineData("wan-2.5", "first_last")]
    public void Validate_LastFrameOnAModelWithoutFirstLast_InvalidNamingFieldAndMode(string model, string mode)
    {
        var error = Invalid(Request(model, first: true, last: true));
        Assert.Equal("last_image_url", error.Error.Param);
        Assert.Contains(mode, error.Message, StringComparison.Ordinal);
        Assert.Contains("models that do:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ReferenceImagesOnAModelWithoutThem_InvalidNamingTheListAndMode()
    {
        var error = Invalid(Request("kling-v2-6", references: 1, seconds: 5));
        Assert.Equal("image_urls", error.Error.Param);
        Assert.Contains("mode reference", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MoreReferenceImagesThanTheModelTakes_InvalidNamingTheFirstItemTooMany()
    {
        var error = Invalid(Request("veo-3.1", references: 4, seconds: 8));
        Assert.Equal("image_urls[3]", error.Error.Param);
        Assert.Contains("at most 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ReferenceImagesWithAFirstFrame_InvalidWhereTheModelForbidsIt()
    {
        var error = Invalid(Request("seedance-2-0", first: true, references: 2, seconds: 5));
        Assert.Equal("image_urls", error.Error.Param);
        Assert.Contains("not both", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Veo31ReferenceImagesAtFourSeconds_InvalidDurationEightOnly()
    {
        var error = Invalid(Request("veo-3.1", references: 1, seconds: 4));
        Assert.Equal("duration", error.Error.Param);
        Assert.Contains("8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, 0, "t2v")]
    [InlineData(false, 2, "reference")]
    public void Required_JobWithoutAFirstFrame_TextOrReference(bool last, int references, string expected) =>
        Assert.Equal([expected], VideoModes.Required(VideoMode.TextToVideo, last, references));

    [Fact]
    public void Required_FirstAndLastFrame_ImageToVideoAndFirstLast() =>
        Assert.Equal(["i2v", "first_last"], VideoModes.Required(VideoMode.ImageToVideo, lastFrame: true, referenceImages: 0));

    [Fact]
    public void CheckInputs_UpstreamWithoutFirstLast_SaysSo()
    {
        var upstream = Catalog.FindUpstream("fal", "fal-ai/veo3.1/image-to-video")!;
        var job = new Job
        {
            Id = Job.NewId(), Owner = "k", Model = "veo-3.1", Mode = VideoMode.ImageToVideo, DurationSeconds = 8, Width = 1280, Height = 720,
            Options = new Dictionary<string, string> { ["reelay.last_frame_key"] = "inputs/x.last.png" },
            Status = JobStatus.Queued, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, Deadline = DateTimeOffset.UnixEpoch,
        };
        Assert.Contains("first_last", upstream.CheckInputs(job), StringComparison.Ordinal);
        Assert.Null(Catalog.FindUpstream("fal", "fal-ai/bytedance/seedance/v1/pro/image-to-video")!.CheckInputs(job));
    }
}
