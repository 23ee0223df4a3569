using Reelay.Providers;

namespace Reelay.Media;

/// <summary>Runs <c>ffmpeg -version</c>, bounded: the sandbox's probe and the readiness check's ffmpeg check.</summary>
public static class FfmpegVersion
{
    /// <summary>How long ffmpeg may take to answer before it is killed and the probe fails.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>Ok with ffmpeg's first line of <c>-version</c>, or not ok with the reason in words.</summary>
    public static async Task<ProbeResult> ProbeAsync(FfmpegRunner runner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);

        // Through the runner like every child process: killed (its whole group) if it does not answer in time or the caller gives up.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Bound);
        try
        {
            var output = await runner.RunVersionAsync(limit.Token).ConfigureAwait(false);
            return new ProbeResult(true, output.Split('\n')[0].Trim());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(false, $"{runner.FfmpegPath} -version did not answer within {Bound.TotalSeconds:0} s");
        }
        catch (FfmpegException ex) when (ex.ExitCode == -1)
        {
            return new ProbeResult(false, $"ffmpeg not found ({ex.Message}); install it (apt-get install -y ffmpeg) or set Reelay:Sandbox:FfmpegPath");
        }
        catch (FfmpegException ex)
        {
            return new ProbeResult(false, $"{runner.FfmpegPath} -version exited with {ex.ExitCode}");
        }
    }
}
