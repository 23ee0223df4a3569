using System.Globalization;
using System.Text;

namespace Reelay.Media;

/// <summary>How <see cref="MediaTransforms.FitImageAsync"/> fits an image into an exact size.</summary>
public enum ImageFitMode
{
    /// <summary>Scale to cover the size and centre-crop the overflow.</summary>
    Crop = 0,

    /// <summary>Scale to fit inside the size and pad the rest with black, centred.</summary>
    Pad = 1,
}

/// <summary>
/// Small ffmpeg jobs on finished media: thumbnails, spritesheets and exact-size image fitting. Stills are written as
/// WebP (what OpenAI's API documents for <c>variant=thumbnail</c> and <c>variant=spritesheet</c>) when the output path
/// ends in <c>.webp</c>, else as JPEG.
/// </summary>
/// <param name="runner">Runs ffmpeg and ffprobe.</param>
public sealed class MediaTransforms(FfmpegRunner runner)
{
    /// <summary>Largest thumbnail width in pixels.</summary>
    public const int MaxThumbnailWidth = 640;

    /// <summary>
    /// Writes a thumbnail of <paramref name="videoPath"/>: the frame at min(1 s, duration / 2), at most
    /// <see cref="MaxThumbnailWidth"/> pixels wide, aspect kept, even dimensions. Probes the duration first.
    /// </summary>
    public async Task CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken)
    {
        var info = await new MediaProbe(runner).ProbeAsync(videoPath, cancellationToken).ConfigureAwait(false);
        await CreateThumbnailAsync(videoPath, outputPath, info.DurationSeconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a thumbnail (WebP for a .webp path, else JPEG) of a video whose duration is already known.</summary>
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
                .. StillEncoder(outputPath),
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
    /// Writes a spritesheet of <paramref name="videoPath"/> (WebP for a .webp path, else JPEG):
    /// <see cref="SpritesheetColumns"/> x <see cref="SpritesheetRows"/> frames taken at the middles of equal slices of
    /// the video, left to right then top to bottom, each <see cref="SpritesheetFrameWidth"/> pixels wide, in one image.
    /// Every sample lies on a frame inside the video (the video stream is probed for its frame rate and count, so the
    /// last sample never falls at or past the end and no tile is left black), and each is read with its own input seek,
    /// so the whole video is never decoded.
    /// </summary>
    public async Task CreateSpritesheetAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(videoPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(durationSeconds);
        MediaInfo? info = null;
        try
        {
            info = await new MediaProbe(runner).ProbeAsync(videoPath, cancellationToken).ConfigureAwait(false);
        }
        catch (FfmpegException)
        {
            // The duration alone still gives sample times; the frame rate is then assumed.
        }

        var times = SpritesheetTimes(durationSeconds, info?.FrameRate, info?.FrameCount);
        List<string> arguments = [];
        var filter = new StringBuilder();
        for (var i = 0; i < times.Count; i++)
        {
            // -t bounds what each input reads after its seek: one frame is all that is kept.
            arguments.AddRange(["-ss", times[i].ToString("0.######", CultureInfo.InvariantCulture), "-t", "1", "-i", FfmpegRunner.FileArgument(videoPath)]);
            filter.Append(CultureInfo.InvariantCulture, $"[{i}:v:0]trim=end_frame=1,scale={SpritesheetFrameWidth}:-2,setsar=1[f{i}];");
        }

        for (var i = 0; i < times.Count; i++)
        {
            filter.Append(CultureInfo.InvariantCulture, $"[f{i}]");
        }

        filter.Append(CultureInfo.InvariantCulture, $"concat=n={times.Count}:v=1:a=0,tile={SpritesheetColumns}x{SpritesheetRows}");
        arguments.AddRange(["-filter_complex", filter.ToString(), "-frames:v", "1", .. StillEncoder(outputPath), "-y", FfmpegRunner.FileArgument(outputPath)]);
        await runner.RunFfmpegAsync(arguments, progress: null, workingDirectory: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The spritesheet's sample times: the middles of ten equal slices of the video's frames, each at or before the
    /// start of its last frame. <paramref name="frameRate"/> and <paramref name="frameCount"/> come from the video
    /// stream when known (the container's duration can be longer than the video, e.g. with a longer audio track).
    /// </summary>
    internal static IReadOnlyList<double> SpritesheetTimes(double durationSeconds, double? frameRate, long? frameCount)
    {
        const int count = SpritesheetColumns * SpritesheetRows;
        var frame = frameRate is > 0 ? 1 / frameRate.Value : 1 / 25.0;
        var lastStart = durationSeconds - frame;
        if (frameCount is > 0 && frameRate is > 0)
        {
            lastStart = Math.Min(lastStart, (frameCount.Value - 1) / frameRate.Value);
        }

        lastStart = Math.Max(0, lastStart);
        var extent = lastStart + frame;
        // A seek keeps the first frame at or after its time; a quarter frame before the last frame's start survives rounding.
        var latest = Math.Max(0, lastStart - (frame / 4));
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            times[i] = Math.Min((i + 0.5) * extent / count, latest);
        }

        return times;
    }

    // WebP (libwebp) for .webp outputs, JPEG otherwise; one still image either way.
    private static string[] StillEncoder(string outputPath) =>
        outputPath.EndsWith(".webp", StringComparison.OrdinalIgnoreCase)
            ? ["-c:v", "libwebp", "-quality", "80", "-f", "webp"]
            : ["-q:v", "4", "-c:v", "mjpeg", "-f", "image2", "-update", "1"];

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
