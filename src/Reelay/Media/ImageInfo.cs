using System.Buffers.Binary;

namespace Reelay.Media;

/// <summary>An image's format and pixel size, read from its header bytes (never from its name or claimed type).</summary>
/// <param name="Format">png, jpeg or webp.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record ImageInfo(string Format, int Width, int Height)
{
    /// <summary>The media type for <see cref="Format"/>.</summary>
    public string MediaType => "image/" + Format;

    /// <summary>File extension without the dot.</summary>
    public string Extension => Format == "jpeg" ? "jpg" : Format;

    /// <summary>Reads PNG, JPEG or WebP headers; null when the bytes are none of those or are truncated.</summary>
    public static ImageInfo? Sniff(ReadOnlySpan<byte> data)
    {
        try
        {
            return SniffCore(data);
        }
        catch (IndexOutOfRangeException)
        {
            return null;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static ImageInfo? SniffCore(ReadOnlySpan<byte> d)
    {
        // PNG: signature, then the IHDR chunk with big-endian width and height.
        if (d.Length >= 24 && d[..8].SequenceEqual(stackalloc byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }) && d.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            return Valid("png", BinaryPrimitives.ReadInt32BigEndian(d.Slice(16, 4)), BinaryPrimitives.ReadInt32BigEndian(d.Slice(20, 4)));
        }

        // JPEG: walk the markers to the first start-of-frame.
        if (d.Length >= 4 && d[0] == 0xFF && d[1] == 0xD8)
        {
            var i = 2;
            while (i + 9 < d.Length)
            {
                if (d[i] != 0xFF)
                {
                    return null;
                }

                var marker = d[i + 1];
                if (marker == 0xFF)
                {
                    i++;
                    continue;
                }

                if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
                {
                    i += 2;
                    continue;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 2, 2));
                var isSof = marker is >= 0xC0 and <= 0xCF && marker is not 0xC4 and not 0xC8 and not 0xCC;
                if (isSof)
                {
                    return Valid("jpeg", BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 7, 2)), BinaryPrimitives.ReadUInt16BigEndian(d.Slice(i + 5, 2)));
                }

                if (length < 2)
                {
                    return null;
                }

                i += 2 + length;
            }

            return null;
        }

        // WebP: RIFF container with a VP8, VP8L or VP8X chunk.
        if (d.Length >= 30 && d[..4].SequenceEqual("RIFF"u8) && d.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            var chunk = d.Slice(12, 4);
            if (chunk.SequenceEqual("VP8 "u8) && d[23] == 0x9D && d[24] == 0x01 && d[25] == 0x2A)
            {
                return Valid("webp", BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(26, 2)) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(28, 2)) & 0x3FFF);
            }

            if (chunk.SequenceEqual("VP8L"u8) && d[20] == 0x2F)
            {
                var bits = BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(21, 4));
                return Valid("webp", (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
            }

            if (chunk.SequenceEqual("VP8X"u8))
            {
                var w = 1 + (d[24] | (d[25] << 8) | (d[26] << 16));
                var h = 1 + (d[27] | (d[28] << 8) | (d[29] << 16));
                return Valid("webp", w, h);
            }
        }

        return null;
    }

    private static ImageInfo? Valid(string format, int width, int height) =>
        width > 0 && height > 0 ? new ImageInfo(format, width, height) : null;
}
