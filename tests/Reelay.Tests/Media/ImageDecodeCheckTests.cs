using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class ImageDecodeCheckTests : IDisposable
{
    /// <summary>A 320x180 PNG whose header is valid and whose IDAT is not zlib data (issue 17): ffmpeg used to spin on it forever.</summary>
    public const string CorruptPngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAUAAAAC0CAIAAABqhmJGAAAACElEQVRub3QgemxpYlVpEfcAAAAASUVORK5CYII=";

    private readonly TempDirectory _temp = new();
    private readonly FfmpegImageDecodeCheck _check;

    public ImageDecodeCheckTests() => _check = new FfmpegImageDecodeCheck(new FfmpegRunner(), _temp.File("tmp"), TimeSpan.FromSeconds(30));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task CheckAsync_ValidHeaderCorruptPixels_ReturnsWhy()
    {
        var bytes = Convert.FromBase64String(CorruptPngBase64);
        var info = ImageInfo.Sniff(bytes);
        Assert.Equal(new ImageInfo("png", 320, 180), info);

        var problem = await _check.CheckAsync(bytes, info!, CancellationToken.None);

        Assert.NotNull(problem);
        Assert.Contains("does not decode", problem, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_temp.File("tmp")));
    }

    [Theory]
    [InlineData("good.png")]
    [InlineData("good.jpg")]
    [InlineData("good.webp")]
    public async Task CheckAsync_RealImage_ReturnsNull(string name)
    {
        var bytes = await File.ReadAllBytesAsync(TestMedia.Image(_temp.File(name), 96, 64));

        Assert.Null(await _check.CheckAsync(bytes, ImageInfo.Sniff(bytes)!, CancellationToken.None));
    }

    [Theory]
    [InlineData("cut.jpg")]
    [InlineData("cut.webp")]
    public async Task CheckAsync_TruncatedImage_ReturnsWhy(string name)
    {
        var whole = await File.ReadAllBytesAsync(TestMedia.Image(_temp.File(name), 320, 240));
        var cut = whole[..(whole.Length / 3)];
        Assert.NotNull(ImageInfo.Sniff(cut));

        Assert.NotNull(await _check.CheckAsync(cut, ImageInfo.Sniff(cut)!, CancellationToken.None));
    }
}
