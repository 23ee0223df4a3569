using System.Diagnostics;

namespace Reelay.Server.Tests.Support;

public static class TestFiles
{
    /// <summary>An image made by ffmpeg's test source, in the format the extension names (png, jpg, webp).</summary>
    public static async Task<byte[]> ImageAsync(int width, int height, string extension = "png")
    {
        var path = Path.Combine(Path.GetTempPath(), $"reelay-img-{Guid.NewGuid():N}.{extension}");
        try
        {
            await FfmpegAsync("-v", "error", "-y", "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}", "-frames:v", "1", path);
            return await File.ReadAllBytesAsync(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static async Task<string> FfprobeAsync(string path, string entries)
    {
        var psi = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "default=noprint_wrappers=1", path })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output;
    }

    private static async Task FfmpegAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("ffmpeg failed: " + err);
        }
    }
}
