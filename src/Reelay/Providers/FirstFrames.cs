using Reelay.Media;

namespace Reelay.Providers;

/// <summary>
/// Reads a job's stored first frame for an adapter, and fits it with ffmpeg to the exact size an upstream demands
/// (Sora rejects first frames that differ from the video size), so the job does not fail upstream. The stored image
/// was already checked by its bytes at submit (format, size, ratio).
/// </summary>
public sealed class FirstFrames
{
    private readonly MediaTransforms _transforms;
    private readonly string _tempDirectory;

    /// <summary>Creates the reader; <paramref name="tempDirectory"/> holds short-lived conversion files.</summary>
    public FirstFrames(MediaTransforms transforms, string tempDirectory)
    {
        _transforms = transforms;
        _tempDirectory = tempDirectory;
    }

    /// <summary>
    /// The first frame as bytes. When <paramref name="exactWidth"/>/<paramref name="exactHeight"/> are given and the
    /// image differs, it is fitted (<paramref name="fit"/>: centre-crop or pad) and re-encoded as PNG.
    /// </summary>
    public Task<FirstFrame> ReadAsync(ProviderJob job, int? exactWidth, int? exactHeight, ImageFitMode fit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var open = job.OpenFirstFrame ?? throw new InvalidOperationException($"Job {job.Job.Id} has no first frame.");
        return ReadAsync(job, open, "first frame", exactWidth, exactHeight, fit, cancellationToken);
    }

    /// <summary>The last frame as bytes (first+last frame jobs), fitted like <see cref="ReadAsync(ProviderJob, int?, int?, ImageFitMode, CancellationToken)"/>.</summary>
    public Task<FirstFrame> ReadLastFrameAsync(ProviderJob job, int? exactWidth, int? exactHeight, ImageFitMode fit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var open = job.OpenLastFrame ?? throw new InvalidOperationException($"Job {job.Job.Id} has no last frame.");
        return ReadAsync(job, open, "last frame", exactWidth, exactHeight, fit, cancellationToken);
    }

    /// <summary>The reference images as bytes, in the client's order (never fitted: they are not frames of the video).</summary>
    public async Task<IReadOnlyList<FirstFrame>> ReadReferenceImagesAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var images = new List<FirstFrame>(job.OpenReferenceImages.Count);
        for (var i = 0; i < job.OpenReferenceImages.Count; i++)
        {
            images.Add(await ReadAsync(job, job.OpenReferenceImages[i], $"reference image {i}", null, null, ImageFitMode.Crop, cancellationToken).ConfigureAwait(false));
        }

        return images;
    }

    private async Task<FirstFrame> ReadAsync(ProviderJob job, Func<CancellationToken, Task<Stream>> open, string what, int? exactWidth, int? exactHeight, ImageFitMode fit, CancellationToken cancellationToken)
    {
        byte[] bytes;
        var source = await open(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await source.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }

        var info = ImageInfo.Sniff(bytes) ?? throw new InvalidOperationException($"The stored {what} of job {job.Job.Id} is not a PNG, JPEG or WebP image.");
        if (exactWidth is not { } width || exactHeight is not { } height || (info.Width == width && info.Height == height))
        {
            return new FirstFrame(bytes, info.MediaType, info.Width, info.Height, Fitted: false);
        }

        Directory.CreateDirectory(_tempDirectory);
        var stem = Path.Combine(_tempDirectory, $"{job.Job.Id}.{Guid.NewGuid():N}");
        var input = stem + "." + info.Extension;
        var output = stem + ".fit.png";
        try
        {
            await File.WriteAllBytesAsync(input, bytes, cancellationToken).ConfigureAwait(false);
            await _transforms.FitImageAsync(input, output, width, height, fit, cancellationToken).ConfigureAwait(false);
            var fitted = await File.ReadAllBytesAsync(output, cancellationToken).ConfigureAwait(false);
            return new FirstFrame(fitted, "image/png", width, height, Fitted: true);
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }
}

/// <summary>A first frame ready to send.</summary>
/// <param name="Bytes">The image bytes.</param>
/// <param name="MediaType">image/png, image/jpeg or image/webp.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Fitted">True when it was cropped or padded to the upstream's exact size.</param>
public sealed record FirstFrame(byte[] Bytes, string MediaType, int Width, int Height, bool Fitted)
{
    /// <summary>Raw Base64, without a data: prefix.</summary>
    public string Base64 => Convert.ToBase64String(Bytes);

    /// <summary>A data URI: data:image/png;base64,....</summary>
    public string DataUri => $"data:{MediaType};base64,{Base64}";

    /// <summary>A file name with the right extension, for multipart uploads.</summary>
    public string FileName => MediaType switch
    {
        "image/jpeg" => "first-frame.jpg",
        "image/webp" => "first-frame.webp",
        _ => "first-frame.png",
    };
}
