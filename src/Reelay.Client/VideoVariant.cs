namespace Reelay.Client;

/// <summary>Which file of a completed video to download.</summary>
public enum VideoVariant
{
    /// <summary>The MP4 video (video/mp4).</summary>
    Video,

    /// <summary>A still of the video (image/webp; image/jpeg for videos finished before Reelay made WebP stills).</summary>
    Thumbnail,

    /// <summary>A 5 x 2 grid of ten evenly spaced frames of the video (image/webp; image/jpeg for videos finished before Reelay made WebP stills).</summary>
    Spritesheet,
}
