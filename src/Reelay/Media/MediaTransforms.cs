using System.Globalization;

namespace Reelay.Media;

/// <summary>How <see cref="MediaTransforms.FitImageAsync"/> fits an image into an exact size.</summary>
public enum ImageFitMode
{
    /// <summary>Scale to cover the size and centre-crop the overflow.</summary>
    Crop = 0,

    /// <summary>Scale to fit inside the size and pad the rest with black, centred.</summary>
    Pad = 1,
}

/// <summary>Small ffmpeg jobs on finished media: thumbnails and exact-size image fitting.</summary>
/// <param name="runner">Runs ffmpeg and ffprobe.</param>
public sealed class MediaTransforms(FfmpegRunner runner)
{
    /// <summary>Largest thumbnail width in pixels.</summary>
    public const int MaxThumbnailWidth = 640;

    /// <summary>
    /// Writes a JPEG thumbnail of <paramref name="videoPath"/>: the frame at min(1 s, duration / 2), at most
    /// <see cref="MaxThumbnailWidth"/> pixels wide, aspect kept, even dimensions. Probes the duration first.
    /// </summary>
    public async Task CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken)
    {
        var info = await new MediaProbe(runner).ProbeAsync(videoPath, cancellationToken).ConfigureAwait(false);
        await CreateThumbnailAsync(videoPath, outputPath, info.DurationSeconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a JPEG thumbnail of a video whose duration is already known.</summary>
    public Task CreateThumbnailAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(videoPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        var at = Math.Max(0, Math.Min(1.0, durationSeconds / 2));
        return runner.RunFfmpegAsync(
            [
                "-ss", at.ToString("0.###", CultureInfo.InvariantCulture),
                "-i", FfmpegRunner.FileArgument(videoPath),
                "-frames:v", "1",
                "-vf", $"scale='trunc(min({MaxThumbnailWidth},iw)/2)*2':-2,setsar=1",
                "-q:v", "4",
                "-c:v", "mjpeg", "-f", "image2", "-update", "1",
                "-y", FfmpegRunner.FileArgument(outputPath),
            ],
            progress: null,
            workingDirectory: null,
            cancellationToken);
    }

    /// <summary>Frames across a spritesheet.</summary>
    public const int SpritesheetColumns = 5;

    /// <summary>Rows of frames in a spritesheet.</summary>
    public const int SpritesheetRows = 2;

    /// <summary>Width of one spritesheet frame in pixels (its height keeps the video's aspect, rounded to even).</summary>
    public const int SpritesheetFrameWidth = 256;

    /// <summary>
    /// Writes a JPEG spritesheet of <paramref name="videoPath"/>: <see cref="SpritesheetColumns"/> x <see cref="SpritesheetRows"/>
    /// frames taken at the middles of equal slices of the video, left to right then top to bottom, each
    /// <see cref="SpritesheetFrameWidth"/> pixels wide, in one image (ffmpeg's tile filter).
    /// </summary>
    public Task CreateSpritesheetAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(videoPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(durationSeconds);
        const int frames = SpritesheetColumns * SpritesheetRows;
        var interval = durationSeconds / frames;
        return runner.RunFfmpegAsync(
            [
                "-ss", (interval / 2).ToString("0.######", CultureInfo.InvariantCulture),
                "-i", FfmpegRunner.FileArgument(videoPath),
                "-vf", SpritesheetFilter(interval),
                "-frames:v", "1",
                "-q:v", "4",
                "-c:v", "mjpeg", "-f", "image2", "-update", "1",
                "-y", FfmpegRunner.FileArgument(outputPath),
            ],
            progress: null,
            workingDirectory: null,
            cancellationToken);
    }

    /// <summary>The filter chain of a spritesheet: one frame per <paramref name="intervalSeconds"/>, scaled, tiled.</summary>
    internal static string SpritesheetFilter(double intervalSeconds) =>
        $"fps=fps={(1 / intervalSeconds).ToString("0.######", CultureInfo.InvariantCulture)}:round=near,"
        + $"scale={SpritesheetFrameWidth.ToString(CultureInfo.InvariantCulture)}:-2,setsar=1,"
        + $"tile={SpritesheetColumns.ToString(CultureInfo.InvariantCulture)}x{SpritesheetRows.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Writes <paramref name="inputPath"/> as a PNG of exactly <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <param name="inputPath">Any image ffmpeg reads (PNG, JPEG, WebP, ...).</param>
    /// <param name="outputPath">The PNG to write (replaced if it exists).</param>
    /// <param name="width">Output width in pixels.</param>
    /// <param name="height">Output height in pixels.</param>
    /// <param name="mode">Centre-crop or pad.</param>
    /// <param name="cancellationToken">Cancels (and kills) the conversion.</param>
    public Task FitImageAsync(string inputPath, string outputPath, int width, int height, ImageFitMode mode, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        return runner.RunFfmpegAsync(
            [
                "-i", FfmpegRunner.FileArgument(inputPath),
                "-frames:v", "1",
                "-vf", FitFilter(width, height, mode),
                "-c:v", "png", "-f", "image2", "-update", "1",
                "-y", FfmpegRunner.FileArgument(outputPath),
            ],
            progress: null,
            workingDirectory: null,
            cancellationToken);
    }

    /// <summary>The filter chain that fits any input to exactly <paramref name="width"/> x <paramref name="height"/>.</summary>
    internal static string FitFilter(int width, int height, ImageFitMode mode)
    {
        var w = width.ToString(CultureInfo.InvariantCulture);
        var h = height.ToString(CultureInfo.InvariantCulture);
        // force_original_aspect_ratio rounds so that "increase" never undershoots and "decrease" never overshoots.
        return mode == ImageFitMode.Crop
            ? $"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"
            : $"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1";
    }
}
