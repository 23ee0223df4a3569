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
