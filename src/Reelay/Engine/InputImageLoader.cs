using Reelay.Jobs;
using Reelay.Media;
using Reelay.Net;

namespace Reelay.Engine;

/// <summary>
/// Turns a client's first frame (bytes or URL) into checked image bytes: png, jpeg or webp by their bytes, size- and
/// ratio-limited, and (with a decode check) proven to decode.
/// </summary>
public sealed class InputImageLoader
{
    private readonly GuardedHttpClient _http;
    private readonly LimitsOptions _limits;
    private readonly IImageDecodeCheck? _decode;

    /// <summary>Creates the loader.</summary>
    /// <param name="http">Fetches image URLs.</param>
    /// <param name="options">The limits.</param>
    /// <param name="decode">Proves the pixel data decodes; null skips that check (the host always registers one).</param>
    public InputImageLoader(GuardedHttpClient http, ReelayOptions options, IImageDecodeCheck? decode = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _limits = options.Limits;
        _decode = decode;
    }

    /// <summary>Loads and checks the image; throws image_invalid naming the field.</summary>
    public async Task<LoadedImage> LoadAsync(InputImage image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var param = image.Param;
        ReadOnlyMemory<byte> bytes;
        if (image.Bytes is { } given)
        {
            bytes = given;
        }
        else if (image.Url is { } url)
        {
            bytes = await _http.GetBytesAsync(url, _limits.MaxImageBytes, _limits.ImageFetchTimeout, param, ErrorCodes.ImageInvalid, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw ReelayException.Invalid(param, $"'{param}' has neither image bytes nor a URL.");
        }

        if (bytes.Length > _limits.MaxImageBytes)
        {
            throw new ReelayException(ErrorCodes.ImageInvalid, $"'{param}' is {bytes.Length} bytes; at most {_limits.MaxImageBytes} bytes are allowed.", param);
        }

        var info = ImageInfo.Sniff(bytes.Span)
            ?? throw new ReelayException(ErrorCodes.ImageInvalid, $"'{param}' is not a PNG, JPEG or WebP image (judged by its bytes, not its name or type).", param);
        var ratio = (double)Math.Max(info.Width, info.Height) / Math.Min(info.Width, info.Height);
        if (ratio > 4.0)
        {
            throw new ReelayException(ErrorCodes.ImageInvalid, $"'{param}' is {info.Width}x{info.Height}; its aspect ratio must be between 1:4 and 4:1.", param);
        }

        if (_decode is not null && await _decode.CheckAsync(bytes, info, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            throw new ReelayException(ErrorCodes.ImageInvalid, $"'{param}' has a valid {info.Format.ToUpperInvariant()} header ({info.Width}x{info.Height}) but {problem}; send an image that opens.", param);
        }

        return new LoadedImage(bytes, info);
    }
}

/// <summary>A checked input image.</summary>
/// <param name="Bytes">The bytes.</param>
/// <param name="Info">Format and size from the header.</param>
public sealed record LoadedImage(ReadOnlyMemory<byte> Bytes, ImageInfo Info);
