namespace Reelay.Engine;

/// <summary>What the engine needs from media tooling when a result arrives.</summary>
public interface IMediaInspector
{
    /// <summary>Probes a video file; null when it is not a playable video.</summary>
    Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken);

    /// <summary>Writes a JPEG thumbnail of the video to <paramref name="outputPath"/>; false when it could not.</summary>
    Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken);
}

/// <summary>Facts about a video file.</summary>
/// <param name="DurationSeconds">Duration.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record VideoFacts(double DurationSeconds, int Width, int Height);
