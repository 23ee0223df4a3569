using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Media;

namespace Reelay.Tests.Catalog;

public sealed class ModelCatalogTests
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Load();

    private static JobRequest Request(string model, string? prompt = "p", int? seconds = null, string? size = null, string? resolution = null, string? aspect = null, bool image = false, long? seed = null, Dictionary<string, string>? options = null) => new()
    {
        Model = model,
        Prompt = prompt,
        DurationSeconds = seconds,
        Size = size,
        Resolution = resolution,
        AspectRatio = aspect,
        Seed = seed,
        Options = options,
        FirstFrame = image ? InputImage.FromBytes(new byte[] { 1 }, "first_frame") : null,
        Owner = "admin",
    };

    private static ReelayException Invalid(JobRequest request, ImageInfo? image = null) => Assert.Throws<ReelayException>(() => Catalog.Validate(request, image));

    [Fact]
    public void Load_Shipped_HasTheIssueModels()
    {
        Assert.Equal(["hailuo-2.3", "kling-v2-5-turbo", "kling-v2-6", "sandbox", "seedance-2-0", "seedance-2-0-fast", "sora-2", "sora-2-pro", "veo-3.1", "veo-3.1-fast", "viduq2-pro", "viduq2-turbo", "wan-2.5", "wan-2.6", "wan-2.7"], Catalog.Models.Select(m => m.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_SandboxDefaults_FilledIn()
    {
        var spec = Catalog.Validate(Request("sandbox"), null);
        Assert.Equal((VideoMode.TextToVideo, 4, 1280, 720), (spec.Mode, spec.DurationSeconds, spec.Width, spec.Height));
    }

    [Theory]
    [InlineData("720p", "9:16", 720, 1280)]
    [InlineData("1080p", "16:9", 1920, 1080)]
    [InlineData("480p", "1:1", 480, 480)]
    public void Validate_SandboxTierAndAspect_ExactSize(string tier, string aspect, int w, int h)
    {
        var spec = Catalog.Validate(Request("sandbox", resolution: tier, aspect: aspect), null);
        Assert.Equal((w, h), (spec.Width, spec.Height));
    }

    [Fact]
    public void Validate_Sora2ProResolution1080pFromPortraitImage_Picks1024x1792()
    {
        var spec = Catalog.Validate(Request("sora-2-pro", resolution: "1080p", image: true), new ImageInfo("png", 900, 1600));
        Assert.Equal((1024, 1792, "9:16"), (spec.Width, spec.Height, spec.AspectRatio));
    }

    [Fact]
    public void Validate_Sora2NoSizeWithLandscapeImage_FollowsImageOrientation()
    {
        var spec = Catalog.Validate(Request("sora-2", image: true), new ImageInfo("jpeg", 1600, 900));
        Assert.Equal((1280, 720), (spec.Width, spec.Height));
    }

    [Fact]
    public void Validate_ViduTierShapedLikeTheImage()
    {
        var spec = Catalog.Validate(Request("viduq2-pro", resolution: "1080p", image: true), new ImageInfo("png", 1000, 1500));
        Assert.Equal((1080, 1620), (spec.Width, spec.Height));
        Assert.Equal("auto", spec.Options["movement_amplitude"]);
        Assert.Equal("false", spec.Options["bgm"]);
        Assert.Equal(5, spec.DurationSeconds);
    }

    [Fact]
    public void Validate_ViduOptions_NormalizedAndChecked()
    {
        var spec = Catalog.Validate(Request("viduq2-turbo", image: true, seed: 9, options: new() { ["movement_amplitude"] = "LARGE", ["bgm"] = "True" }), new ImageInfo("png", 640, 640));
        Assert.Equal(("large", "true"), (spec.Options["movement_amplitude"], spec.Options["bgm"]));

        var bad = Invalid(Request("viduq2-turbo", image: true, options: new() { ["movement_amplitude"] = "wild" }), new ImageInfo("png", 640, 640));
        Assert.Equal("movement_amplitude", bad.Error.Param);
        Assert.Contains("auto, small, medium or large", bad.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sora-2", 5, "duration", "4, 8, 10, 12 or 15")]
    [InlineData("sora-2", 25, "duration", "4, 8, 10, 12 or 15")]
    [InlineData("sora-2-pro", 20, "duration", "4, 8, 10, 12, 15 or 25")]
    [InlineData("viduq2-pro", 11, "duration", "1 to 10")]
    [InlineData("sandbox", 0, "duration", "1 to 20")]
    public void Validate_DurationNotOffered_NamesFieldAndAllowed(string model, int seconds, string param, string allowed)
    {
        var ex = Invalid(Request(model, seconds: seconds, image: model.StartsWith("vidu", StringComparison.Ordinal)), new ImageInfo("png", 100, 100));
        Assert.Equal((ErrorCodes.InvalidRequest, param), (ex.Error.Code, ex.Error.Param));
        Assert.Contains(allowed, ex.Error.Message, StringComparison.Ordinal);
        Assert.Contains(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sora-2", 10)]
    [InlineData("sora-2", 15)]
    [InlineData("sora-2-pro", 10)]
    [InlineData("sora-2-pro", 15)]
    [InlineData("sora-2-pro", 25)]
    [InlineData("sora-2-pro", 12)]
    public void Validate_SoraAppLengthsAt720p_Allowed(string model, int seconds)
    {
        var spec = Catalog.Validate(Request(model, seconds: seconds, resolution: "720p", aspect: "16:9"), null);
        Assert.Equal((seconds, 1280, 720), (spec.DurationSeconds, spec.Width, spec.Height));
    }

    [Theory]
    [InlineData(15, 1792, 1024)]
    [InlineData(10, 1024, 1792)]
    public void Validate_Sora2ProAt1080pUpTo15Seconds_Allowed(int seconds, int width, int height)
    {
        var spec = Catalog.Validate(Request("sora-2-pro", seconds: seconds, resolution: "1080p", aspect: width > height ? "16:9" : "9:16"), null);
        Assert.Equal((seconds, width, height, "1080p"), (spec.DurationSeconds, spec.Width, spec.Height, spec.Resolution));
    }

    [Fact]
    public void Validate_Sora2Pro25SecondsAt1080p_RefusedNamingDurationAndWhatThe1080pTierAllows()
    {
        var byTier = Invalid(Request("sora-2-pro", seconds: 25, resolution: "1080p"));
        Assert.Equal((ErrorCodes.InvalidRequest, "duration"), (byTier.Error.Code, byTier.Error.Param));
        Assert.Contains("duration 25 s is not offered by model 'sora-2-pro' at 1080p", byTier.Error.Message, StringComparison.Ordinal);
        Assert.Contains("allowed at 1080p: 4, 8, 10, 12 or 15 seconds", byTier.Error.Message, StringComparison.Ordinal);

        // The same rule holds when the 1080p tier is named by its exact size, as OpenAI's dialect does.
        var bySize = Invalid(Request("sora-2-pro", seconds: 25, size: "1792x1024"));
        Assert.Equal("duration", bySize.Error.Param);
        Assert.Contains("at 1080p", bySize.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SoraWatermarkAndPrivate_DefaultFalseAndNormalized()
    {
        var defaults = Catalog.Validate(Request("sora-2"), null);
        Assert.Equal(("false", "false"), (defaults.Options["watermark"], defaults.Options["private"]));

        var given = Catalog.Validate(Request("sora-2-pro", options: new() { ["watermark"] = "True", ["private"] = "true" }), null);
        Assert.Equal(("true", "true"), (given.Options["watermark"], given.Options["private"]));

        var bad = Invalid(Request("sora-2", options: new() { ["private"] = "maybe" }));
        Assert.Equal("private", bad.Error.Param);
        Assert.Contains("true or false", bad.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Sora2At1080p_RefusedNamingResolution()
    {
        var ex = Invalid(Request("sora-2", resolution: "1080p"));
        Assert.Equal("resolution", ex.Error.Param);
        Assert.Contains("allowed: 720p", ex.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeedOnSora_Refused()
    {
        Assert.Equal("seed", Invalid(Request("sora-2", seed: 1)).Error.Param);
    }

    [Fact]
    public void Validate_SandboxOddOrHugeSize_Refused()
    {
        Assert.Contains("even", Invalid(Request("sandbox", size: "641x360")).Error.Message, StringComparison.Ordinal);
        Assert.Equal("size", Invalid(Request("sandbox", size: "2560x1440")).Error.Param);
    }

    [Fact]
    public void Validate_UnknownModel_UnsupportedModelListingModels()
    {
        var ex = Invalid(Request("sora-3"));
        Assert.Equal(ErrorCodes.UnsupportedModel, ex.Error.Code);
        Assert.Contains("sandbox", ex.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PromptTooLong_Refused()
    {
        Assert.Equal("prompt", Invalid(Request("viduq2-pro", prompt: new string('x', 2001), image: true), new ImageInfo("png", 10, 10)).Error.Param);
    }

    [Fact]
    public void Load_OperatorFile_AddsReplacesAndDisables()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                {"models":{
                  "sora-2-pro":{"disabled":true},
                  "sandbox":{"modes":["t2v"],"durations":{"values":[2]},"defaultDuration":2,"sizes":["640x360"],"defaultSize":"640x360"},
                  "house-model":{"modes":["t2v"],"durations":{"min":1,"max":3},"defaultDuration":2,"sizes":["320x240"],"defaultSize":"320x240"}
                }}
                """);
            var catalog = ModelCatalog.Load(path);
            Assert.Null(catalog.Find("sora-2-pro"));
            Assert.NotNull(catalog.Find("house-model"));
            Assert.Equal(2, catalog.Validate(Request("sandbox"), null).DurationSeconds);
            Assert.Throws<ReelayException>(() => catalog.Validate(Request("sandbox", image: true), new ImageInfo("png", 10, 10)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_OperatorFileWithResolutionDurationsForUnknownTier_FailsNamingModelAndTier()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"models":{"odd":{"modes":["t2v"],"durations":{"values":[4]},"defaultDuration":4,"sizes":["64x64"],"defaultSize":"64x64","resolutionDurations":{"4k":{"values":[4]}}}}}""");
            var ex = Assert.Throws<InvalidOperationException>(() => ModelCatalog.Load(path));
            Assert.Contains("'odd'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'4k'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_OperatorFileWithBadDefault_FailsNamingTheModel()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"models":{"bad":{"modes":["t2v"],"durations":{"values":[4]},"defaultDuration":5,"sizes":["64x64"],"defaultSize":"64x64"}}}""");
            var ex = Assert.Throws<InvalidOperationException>(() => ModelCatalog.Load(path));
            Assert.Contains("'bad'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
