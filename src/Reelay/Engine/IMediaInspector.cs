namespace Reelay.Engine;

/// <summary>What the engine needs from media tooling when a result arrives.</summary>
public interface IMediaInspector
{
    /// <summary>Probes a video file; null when it is not a playable video.</summary>
    Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken);

    /// <summary>Writes a thumbnail of the video to <paramref name="outputPath"/> (WebP for a .webp path, else JPEG); false when it could not.</summary>
    Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a spritesheet (a grid of evenly spaced frames; WebP for a .webp path, else JPEG) of a video of known duration to
    /// <paramref name="outputPath"/>; false when it could not. The default makes none.
    /// </summary>
    Task<bool> CreateSpritesheetAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken) => Task.FromResult(false);
}

/// <summary>Facts about a video file.</summary>
/// <param name="DurationSeconds">Duration.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record VideoFacts(double DurationSeconds, int Width, int Height);
