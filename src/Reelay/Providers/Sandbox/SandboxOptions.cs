namespace Reelay.Providers.Sandbox;

/// <summary>The sandbox provider: a local ffmpeg renderer, free and offline, not AI.</summary>
public sealed class SandboxOptions
{
    /// <summary>Whether the sandbox provider is registered at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The ffmpeg executable.</summary>
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>The ffprobe executable.</summary>
    public string FfprobePath { get; set; } = "ffprobe";

    /// <summary>Renders at once; further jobs wait in the sandbox's queue.</summary>
    public int MaxConcurrentRenders { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Frames per second, 24-30.</summary>
    public int Fps { get; set; } = 24;

    /// <summary>x264 preset.</summary>
    public string Preset { get; set; } = "veryfast";

    /// <summary>
    /// Other catalog models the sandbox renders when no deployment serves them. Explicit opt-in only: every job it
    /// renders for one says so in its note. Use "*" for every model.
    /// </summary>
    public List<string> StandInFor { get; set; } = [];

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Fps is < 24 or > 30)
        {
            yield return $"Reelay:Sandbox:Fps must be 24 to 30 (got {Fps}).";
        }

        if (MaxConcurrentRenders is < 1 or > 64)
        {
            yield return $"Reelay:Sandbox:MaxConcurrentRenders must be 1 to 64 (got {MaxConcurrentRenders}).";
        }

        if (Preset is not ("ultrafast" or "superfast" or "veryfast" or "faster" or "fast" or "medium"))
        {
            yield return $"Reelay:Sandbox:Preset '{Preset}' is not allowed; use ultrafast, superfast, veryfast, faster, fast or medium.";
        }
    }
}
