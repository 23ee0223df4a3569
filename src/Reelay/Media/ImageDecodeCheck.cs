namespace Reelay.Media;

/// <summary>Proves that an image's pixel data decodes, not just its header.</summary>
public interface IImageDecodeCheck
{
    /// <summary>Null when the image decodes; otherwise why it does not, as a sentence for the client.</summary>
    /// <param name="bytes">The image bytes.</param>
    /// <param name="info">What its header says (already sniffed).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    Task<string?> CheckAsync(ReadOnlyMemory<byte> bytes, ImageInfo info, CancellationToken cancellationToken);
}

/// <summary>
/// Decodes the first frame of an image with ffmpeg into nothing (<c>-xerror -err_detect explode -frames:v 1 -f null</c>),
/// through the watchdog'd runner, within a total time limit. An image whose header is valid but whose pixel data is not
/// (a corrupt PNG stream, a truncated JPEG or WebP) is refused here, at submit, instead of stalling a render later.
/// </summary>
/// <param name="runner">Runs ffmpeg.</param>
/// <param name="tempDirectory">Holds the image while ffmpeg reads it.</param>
/// <param name="timeout">How long one check may take in total.</param>
public sealed class FfmpegImageDecodeCheck(FfmpegRunner runner, string tempDirectory, TimeSpan timeout) : IImageDecodeCheck
{
    /// <inheritdoc />
    public async Task<string?> CheckAsync(ReadOnlyMemory<byte> bytes, ImageInfo info, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        Directory.CreateDirectory(tempDirectory);
        var path = Path.Combine(tempDirectory, $"check-{Guid.NewGuid():N}.{info.Extension}");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await File.WriteAllBytesAsync(path, bytes, limit.Token).ConfigureAwait(false);
            await runner.RunFfmpegAsync(
                ["-xerror", "-err_detect", "explode", "-i", FfmpegRunner.FileArgument(path), "-frames:v", "1", "-f", "null", "-"],
                progress: null,
                workingDirectory: null,
                limit.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"its pixel data did not decode within {timeout.TotalSeconds:0.#} s";
        }
        catch (FfmpegException ex) when (ex.ExitCode != -1)
        {
            return ex.Stalled ? "decoding its pixel data made no progress" : "its pixel data does not decode (corrupt or truncated)";
        }
        finally
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
