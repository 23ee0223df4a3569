namespace Reelay.Jobs;

/// <summary>What a job makes its video from.</summary>
public enum VideoMode
{
    /// <summary>A prompt alone.</summary>
    TextToVideo = 0,
    /// <summary>A first frame image, optionally with a prompt.</summary>
    ImageToVideo = 1,
}

/// <summary>Helpers for <see cref="VideoMode"/>.</summary>
public static class VideoModeExtensions
{
    /// <summary>"t2v" or "i2v", as the catalog spells modes.</summary>
    public static string ToWire(this VideoMode mode) => mode == VideoMode.ImageToVideo ? "i2v" : "t2v";

    /// <summary>Parses "t2v" or "i2v".</summary>
    public static VideoMode ParseWire(string value) => value switch
    {
        "t2v" => VideoMode.TextToVideo,
        "i2v" => VideoMode.ImageToVideo,
        _ => throw new FormatException($"Unknown video mode '{value}'."),
    };
}

/// <summary>
/// The mode names a catalog model or upstream model lists under <c>modes</c>: what it makes video from. A job needs the
/// modes of <see cref="Required"/>: text-to-video (t2v), from a first frame (i2v), with a last frame too (first_last), or
/// from reference images (reference; with a first frame only where the model says so).
/// </summary>
public static class VideoModes
{
    /// <summary>"t2v": a prompt alone.</summary>
    public const string TextToVideo = "t2v";

    /// <summary>"i2v": a first frame.</summary>
    public const string ImageToVideo = "i2v";

    /// <summary>"first_last": a first and a last frame.</summary>
    public const string FirstLast = "first_last";

    /// <summary>"reference": reference images (see the model's maxReferenceImages).</summary>
    public const string Reference = "reference";

    /// <summary>Every mode name the catalog knows.</summary>
    public static IReadOnlyList<string> All { get; } = [TextToVideo, ImageToVideo, FirstLast, Reference];

    /// <summary>The modes a job needs from a model: from its mode, its last frame and its reference images.</summary>
    public static IReadOnlyList<string> Required(VideoMode mode, bool lastFrame, int referenceImages)
    {
        if (mode == VideoMode.TextToVideo)
        {
            return referenceImages > 0 ? [Reference] : [TextToVideo];
        }

        var modes = new List<string>(3) { ImageToVideo };
        if (lastFrame)
        {
            modes.Add(FirstLast);
        }

        if (referenceImages > 0)
        {
            modes.Add(Reference);
        }

        return modes;
    }

    /// <summary>The modes a stored job needs.</summary>
    public static IReadOnlyList<string> Required(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Required(job.Mode, job.LastFrameKey is not null, job.ReferenceImageKeys.Count);
    }

    /// <summary>A mode in words, for messages.</summary>
    public static string Describe(string mode) => mode switch
    {
        TextToVideo => "text-to-video (t2v)",
        ImageToVideo => "image-to-video (i2v)",
        FirstLast => "first+last frame (first_last)",
        Reference => "reference images (reference)",
        _ => mode,
    };
}
