namespace Reelay.Media;

/// <summary>
/// Limits on the ffmpeg and ffprobe child processes, bound from <c>Reelay:Media</c>. Every default is documented in
/// docs/configuration.md. (The executables themselves are <c>Reelay:Sandbox:FfmpegPath</c> and <c>FfprobePath</c>.)
/// </summary>
public sealed class MediaOptions
{
    /// <summary>
    /// How long an ffmpeg or ffprobe run may go without progress before the watchdog stops it. Progress is ffmpeg's
    /// own <c>-progress</c> report moving on (frames, output time or output size), or, for ffprobe, output arriving.
    /// Error lines do not count: a decoder that fails the same frame forever is not progressing. Default 60 seconds.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a stopped run gets to exit after SIGTERM (to its whole process group) before SIGKILL. Default 5 seconds.
    /// </summary>
    public TimeSpan KillGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the submit-time check that an input image really decodes may take in total (it decodes one frame);
    /// longer and the image is refused with image_invalid. Default 15 seconds.
    /// </summary>
    public TimeSpan ImageCheckTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Start-up validation messages, each naming its key; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (StallTimeout < TimeSpan.FromSeconds(1) || StallTimeout > TimeSpan.FromHours(1))
        {
            yield return $"Reelay:Media:StallTimeout must be 1 second to 1 hour (got {StallTimeout}).";
        }

        if (KillGracePeriod < TimeSpan.Zero || KillGracePeriod > TimeSpan.FromMinutes(1))
        {
            yield return $"Reelay:Media:KillGracePeriod must be 0 to 1 minute (got {KillGracePeriod}).";
        }

        if (ImageCheckTimeout < TimeSpan.FromSeconds(1) || ImageCheckTimeout > TimeSpan.FromMinutes(5))
        {
            yield return $"Reelay:Media:ImageCheckTimeout must be 1 second to 5 minutes (got {ImageCheckTimeout}).";
        }
    }
}
