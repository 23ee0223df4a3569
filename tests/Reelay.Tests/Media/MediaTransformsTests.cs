using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class MediaTransformsTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly MediaTransforms _transforms = new(new FfmpegRunner());

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(300, 100, ImageFitMode.Crop)]
    [InlineData(100, 300, ImageFitMode.Crop)]
    [InlineData(300, 100, ImageFitMode.Pad)]
    [InlineData(100, 300, ImageFitMode.Pad)]
    [InlineData(161, 121, ImageFitMode.Crop)]
    public async Task FitImageAsync_AnyAspect_WritesPngOfExactSize(int inWidth, int inHeight, ImageFitMode mode)
    {
        var input = TestMedia.Image(_temp.File("in.jpg"), inWidth, inHeight);
        var output = _temp.File("out.png");

        await _transforms.FitImageAsync(input, output, 160, 120, mode, CancellationToken.None);

        Assert.Equal(new ImageInfo("png", 160, 120), ImageInfo.Sniff(await File.ReadAllBytesAsync(output)));
    }

    [Fact]
    public async Task FitImageAsync_PadWideImage_PadsTopWithBlack()
    {
        var input = TestMedia.Image(_temp.File("wide.png"), 400, 100);
        var output = _temp.File("out.png");

        await _transforms.FitImageAsync(input, output, 200, 200, ImageFitMode.Pad, CancellationToken.None);

        // The top-left pixel as raw RGB via ffmpeg: padding is black.
        var raw = _temp.File("pixel.rgb");
        TestMedia.Ffmpeg("-i", output, "-vf", "crop=1:1:0:0", "-f", "rawvideo", "-pix_fmt", "rgb24", raw);
        Assert.Equal(new byte[] { 0, 0, 0 }, await File.ReadAllBytesAsync(raw));
    }

    [Theory]
    [InlineData(800, 600, 640, 480)]
    [InlineData(320, 240, 320, 240)]
    [InlineData(1000, 562, 640, 360)]
    public async Task CreateThumbnailAsync_Video_WritesJpegAtMost640WideWithEvenSize(int width, int height, int thumbWidth, int thumbHeight)
    {
        var video = TestMedia.Video(_temp.File("v.mp4"), width, height, 0.6);
        var output = _temp.File("thumb.jpg");

        await _transforms.CreateThumbnailAsync(video, output, CancellationToken.None);

        Assert.Equal(new ImageInfo("jpeg", thumbWidth, thumbHeight), ImageInfo.Sniff(await File.ReadAllBytesAsync(output)));
    }

    [Fact]
    public async Task CreateThumbnailAsync_WebpPath_WritesWebp()
    {
        var video = TestMedia.Video(_temp.File("v.mp4"), 800, 600, 0.6);
        var output = _temp.File("thumb.webp");

        await _transforms.CreateThumbnailAsync(video, output, CancellationToken.None);

        Assert.Equal(new ImageInfo("webp", 640, 480), ImageInfo.Sniff(await File.ReadAllBytesAsync(output)));
    }

    [Theory]
    [InlineData(320, 240, 4.0, 1280, 384)]
    [InlineData(240, 426, 2.5, 1280, 908)]
    public async Task CreateSpritesheetAsync_WebpPath_WritesWebpGridOfTenFrames(int width, int height, double seconds, int sheetWidth, int sheetHeight)
    {
        var video = TestMedia.Video(_temp.File("v.mp4"), width, height, seconds);
        var output = _temp.File("sprite.webp");

        await _transforms.CreateSpritesheetAsync(video, output, seconds, CancellationToken.None);

        Assert.Equal(new ImageInfo("webp", sheetWidth, sheetHeight), ImageInfo.Sniff(await File.ReadAllBytesAsync(output)));
    }

    [Theory]
    [InlineData(320, 240, 4.0, 1280, 384)]
    [InlineData(240, 426, 2.5, 1280, 908)]
    public async Task CreateSpritesheetAsync_Video_WritesJpegGridOfTenFrames(int width, int height, double seconds, int sheetWidth, int sheetHeight)
    {
        var video = TestMedia.Video(_temp.File("v.mp4"), width, height, seconds);
        var output = _temp.File("sprite.jpg");

        await _transforms.CreateSpritesheetAsync(video, output, seconds, CancellationToken.None);

        // 5 x 2 frames, each 256 wide with the video's aspect (height rounded to even).
        var info = await new MediaProbe(new FfmpegRunner()).ProbeAsync(output, CancellationToken.None);
        Assert.Equal(("mjpeg", sheetWidth, sheetHeight), (info.CodecName, info.Width, info.Height));
        Assert.Equal(new ImageInfo("jpeg", sheetWidth, sheetHeight), ImageInfo.Sniff(await File.ReadAllBytesAsync(output)));
    }
}
