using Reelay.Engine;

namespace Reelay.Media;

/// <summary>The engine's media checks done with ffprobe and ffmpeg.</summary>
public sealed class FfmpegMediaInspector(MediaProbe probe, MediaTransforms transforms) : IMediaInspector
{
    /// <inheritdoc />
    public async Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var info = await probe.ProbeAsync(path, cancellationToken).ConfigureAwait(false);
            return info.DurationSeconds > 0 ? new VideoFacts(info.DurationSeconds, info.Width, info.Height) : null;
        }
        catch (FfmpegException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken)
    {
        try
        {
            await transforms.CreateThumbnailAsync(videoPath, outputPath, cancellationToken).ConfigureAwait(false);
            return File.Exists(outputPath);
        }
        catch (FfmpegException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<bool> CreateSpritesheetAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken)
    {
        if (durationSeconds <= 0)
        {
            return false;
        }

        try
        {
            await transforms.CreateSpritesheetAsync(videoPath, outputPath, durationSeconds, cancellationToken).ConfigureAwait(false);
            return File.Exists(outputPath) && new FileInfo(outputPath).Length > 0;
        }
        catch (FfmpegException)
        {
            return false;
        }
    }
}
