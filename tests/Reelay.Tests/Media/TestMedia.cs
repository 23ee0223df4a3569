using System.Diagnostics;

namespace Reelay.Tests.Media;

/// <summary>A temporary directory, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "reelay-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Makes test media with ffmpeg's lavfi sources, independently of the code under test.</summary>
internal static class TestMedia
{
    /// <summary>Runs ffmpeg with the arguments and fails the test if it fails.</summary>
    public static void Ffmpeg(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-y", .. arguments])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "ffmpeg timed out");
        Assert.True(process.ExitCode == 0, "ffmpeg failed: " + stderr.Result);
    }

    /// <summary>A still image from testsrc; the extension picks the format (png, jpg, webp).</summary>
    public static string Image(string path, int width, int height, params string[] codecArguments)
    {
        Ffmpeg(["-f", "lavfi", "-i", $"testsrc=size={width}x{height}", "-frames:v", "1", .. codecArguments, "-update", "1", path]);
        return path;
    }

    /// <summary>A short H.264 video from testsrc.</summary>
    public static string Video(string path, int width, int height, double seconds, int fps = 25)
    {
        Ffmpeg("-f", "lavfi", "-i", $"testsrc=size={width}x{height}:rate={fps}:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path);
        return path;
    }

    /// <summary>The top-level MP4 box types in file order.</summary>
    public static List<string> TopLevelBoxes(string path)
    {
        var boxes = new List<string>();
        using var file = System.IO.File.OpenRead(path);
        var header = new byte[16];
        while (file.Position + 8 <= file.Length)
        {
            var start = file.Position;
            file.ReadExactly(header, 0, 8);
            long size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header);
            var type = System.Text.Encoding.ASCII.GetString(header, 4, 4);
            if (size == 1)
            {
                file.ReadExactly(header, 8, 8);
                size = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
            }
            else if (size == 0)
            {
                size = file.Length - start;
            }

            Assert.True(size >= 8, $"Bad box size {size} for '{type}'.");
            boxes.Add(type);
            file.Position = start + size;
        }

        return boxes;
    }
}
