using System.Globalization;
using System.Text.Json;

namespace Reelay.Media;

/// <summary>What ffprobe says about a media file's first video stream.</summary>
/// <param name="DurationSeconds">Duration in seconds (the container's, else the stream's; 0 when unknown, e.g. a still image).</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="CodecName">Codec, e.g. h264, png, mjpeg.</param>
/// <param name="PixelFormat">Pixel format, e.g. yuv420p; null when ffprobe does not say.</param>
/// <param name="Bytes">File size in bytes.</param>
/// <param name="FrameRate">Frames per second (the stream's average, else its base rate); null when unknown.</param>
/// <param name="FrameCount">Frames in the stream, when the container records it.</param>
public sealed record MediaInfo(
    double DurationSeconds,
    int Width,
    int Height,
    string CodecName,
    string? PixelFormat,
    long Bytes,
    double? FrameRate,
    long? FrameCount);

/// <summary>Reads a media file's facts with ffprobe.</summary>
/// <param name="runner">Runs ffprobe.</param>
public sealed class MediaProbe(FfmpegRunner runner)
{
    /// <summary>Probes <paramref name="path"/>.</summary>
    /// <exception cref="FfmpegException">ffprobe failed or the file has no video stream.</exception>
    public async Task<MediaInfo> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var json = await runner.RunFfprobeAsync(
            ["-print_format", "json", "-show_streams", "-show_format", FfmpegRunner.FileArgument(path)],
            cancellationToken).ConfigureAwait(false);
        return Parse(json, new FileInfo(path).Length);
    }

    /// <summary>Parses ffprobe's JSON (<c>-print_format json -show_streams -show_format</c>).</summary>
    internal static MediaInfo Parse(string json, long? fileBytes = null)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        JsonElement? video = null;
        if (root.TryGetProperty("streams", out var streams) && streams.ValueKind == JsonValueKind.Array)
        {
            foreach (var stream in streams.EnumerateArray())
            {
                if (String(stream, "codec_type") == "video")
                {
                    video = stream;
                    break;
                }
            }
        }

        if (video is not { } v)
        {
            throw new FfmpegException("The file has no video stream.", 0, string.Empty);
        }

        root.TryGetProperty("format", out var format);
        var duration = Number(format, "duration") ?? Number(v, "duration") ?? 0;
        var bytes = fileBytes ?? (long)(Number(format, "size") ?? 0);
        var frames = Number(v, "nb_frames");
        return new MediaInfo(
            duration,
            v.TryGetProperty("width", out var w) ? w.GetInt32() : 0,
            v.TryGetProperty("height", out var h) ? h.GetInt32() : 0,
            String(v, "codec_name") ?? "unknown",
            String(v, "pix_fmt"),
            bytes,
            Rate(String(v, "avg_frame_rate")) ?? Rate(String(v, "r_frame_rate")),
            frames is { } f ? (long)f : null);
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    // ffprobe writes numbers as strings ("4.000000"), and "N/A" when it does not know.
    private static double? Number(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetDouble();
        }

        return value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    private static double? Rate(string? fraction)
    {
        if (fraction is null)
        {
            return null;
        }

        var slash = fraction.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return double.TryParse(fraction, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r > 0 ? r : null;
        }

        return double.TryParse(fraction.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out var num)
            && double.TryParse(fraction.AsSpan(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var den)
            && num > 0 && den > 0
            ? num / den
            : null;
    }
}
