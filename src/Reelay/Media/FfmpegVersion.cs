using Reelay.Providers;

namespace Reelay.Media;

/// <summary>Runs <c>ffmpeg -version</c>, bounded: the sandbox's probe and the readiness check's ffmpeg check.</summary>
public static class FfmpegVersion
{
    /// <summary>How long ffmpeg may take to answer before it is killed and the probe fails.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>Ok with ffmpeg's first line of <c>-version</c>, or not ok with the reason in words.</summary>
    public static async Task<ProbeResult> ProbeAsync(string ffmpegPath, CancellationToken cancellationToken)
    {
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo(ffmpegPath, "-hide_banner -version") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(psi);
            if (process is null)
            {
                return new ProbeResult(false, $"could not start {ffmpegPath}");
            }

            // Like every child process, this one has a bound: it is killed if it does not answer in time or the caller gives up.
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(Bound);
            try
            {
                var first = (await process.StandardOutput.ReadToEndAsync(limit.Token).ConfigureAwait(false)).Split('\n')[0];
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
                return process.ExitCode == 0 ? new ProbeResult(true, first.Trim()) : new ProbeResult(false, $"{ffmpegPath} -version exited with {process.ExitCode}");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new ProbeResult(false, $"{ffmpegPath} -version did not answer within 10 s");
            }
            finally
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
                catch (InvalidOperationException)
                {
                    // It exited meanwhile.
                }
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new ProbeResult(false, $"ffmpeg not found ({ex.Message}); install it (apt-get install -y ffmpeg) or set Reelay:Sandbox:FfmpegPath");
        }
    }
}
