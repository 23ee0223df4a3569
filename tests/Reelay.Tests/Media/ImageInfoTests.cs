using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class ImageInfoTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("png", "png")]
    [InlineData("jpg", "jpeg")]
    public void Sniff_FfmpegImage_ReturnsFormatAndSize(string extension, string format)
    {
        var path = TestMedia.Image(_temp.File("a." + extension), 123, 45);

        var info = ImageInfo.Sniff(File.ReadAllBytes(path));

        Assert.Equal(new ImageInfo(format, 123, 45), info);
    }

    [Theory]
    [InlineData("lossy", new[] { "-c:v", "libwebp" })]
    [InlineData("lossless", new[] { "-c:v", "libwebp", "-lossless", "1" })]
    [InlineData("alpha", new[] { "-c:v", "libwebp", "-pix_fmt", "yuva420p" })]
    public void Sniff_FfmpegWebp_ReturnsWebpAndSize(string variant, string[] codec)
    {
        var path = TestMedia.Image(_temp.File(variant + ".webp"), 124, 46, codec);

        var info = ImageInfo.Sniff(File.ReadAllBytes(path));

        Assert.Equal(new ImageInfo("webp", 124, 46), info);
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpg")]
    [InlineData("webp")]
    public void Sniff_TruncatedHeader_ReturnsNull(string extension)
    {
        var path = TestMedia.Image(_temp.File("t." + extension), 64, 48);
        var bytes = File.ReadAllBytes(path);

        Assert.NotNull(ImageInfo.Sniff(bytes));
        Assert.Null(ImageInfo.Sniff(bytes.AsSpan(0, 20)));
    }

    [Fact]
    public void Sniff_Garbage_ReturnsNull()
    {
        var garbage = new byte[4096];
        new Random(42).NextBytes(garbage);

        Assert.Null(ImageInfo.Sniff(garbage));
        Assert.Null(ImageInfo.Sniff([]));
        Assert.Null(ImageInfo.Sniff("GIF89a not supported here"u8));
    }

    [Fact]
    public void Sniff_JpegCutBeforeFrameHeader_ReturnsNull()
    {
        var path = TestMedia.Image(_temp.File("cut.jpg"), 64, 48);
        var bytes = File.ReadAllBytes(path);
        var sof = bytes.AsSpan().IndexOf(new byte[] { 0xFF, 0xC0 });
        Assert.True(sof > 0);

        Assert.Null(ImageInfo.Sniff(bytes.AsSpan(0, sof + 4)));
    }
}
