namespace Reelay.Client;

/// <summary>Which file of a completed video to download.</summary>
public enum VideoVariant
{
    /// <summary>The MP4 video (video/mp4).</summary>
    Video,

    /// <summary>A JPEG still of the video (image/jpeg).</summary>
    Thumbnail,

    /// <summary>A JPEG grid of evenly spaced frames of the video (image/jpeg).</summary>
    Spritesheet,
}
