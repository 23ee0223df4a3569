using System.Buffers.Binary;

namespace Reelay.Emulators.Kernel;

/// <summary>
/// The emulators' own, independent reading of PNG and JPEG sizes (so an emulator does not share a bug with the
/// gateway code it tests). Other formats answer null and skip size checks.
/// </summary>
internal static class ImageHeaders
{
    public static (int Width, int Height)? Size(byte[] d)
    {
        if (d.Length >= 24 && d[0] == 0x89 && d[1] == (byte)'P' && d[2] == (byte)'N' && d[3] == (byte)'G')
        {
            return (BinaryPrimitives.ReadInt32BigEndian(d.AsSpan(16, 4)), BinaryPrimitives.ReadInt32BigEndian(d.AsSpan(20, 4)));
        }

        if (d.Length < 4 || d[0] != 0xFF || d[1] != 0xD8)
        {
            return null;
        }

        var i = 2;
        while (i + 9 < d.Length)
        {
            if (d[i] != 0xFF)
            {
                return null;
            }

            var marker = d[i + 1];
            if (marker is 0xFF)
            {
                i++;
                continue;
            }

            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                i += 2;
                continue;
            }

            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(i + 7, 2)), BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(i + 5, 2)));
            }

            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(i + 2, 2));
        }

        return null;
    }
}
