using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Reelay.Emulators.Kernel;

/// <summary>
/// Real MP4 bytes for emulated results: an ffmpeg test pattern (H.264, yuv420p, faststart) at the task's exact size
/// and length, rendered once per (size, length) and cached for the life of the process.
/// </summary>
public sealed class EmulatorVideos
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Cache = new(StringComparer.Ordinal);
    private static readonly string Folder = Path.Combine(Path.GetTempPath(), $"reelay-emulator-videos-{Environment.ProcessId}");

    /// <summary>The ffmpeg executable.</summary>
    public string FfmpegPath { get; init; } = "ffmpeg";

    /// <summary>A flat grey picture (a few KiB) instead of ffmpeg's moving test pattern (see <see cref="EmulatorOptions.FlatVideos"/>).</summary>
    public bool Flat { get; init; }

    /// <summary>The path of an MP4 of exactly <paramref name="width"/> x <paramref name="height"/> and <paramref name="seconds"/> s.</summary>
    public Task<string> GetAsync(int width, int height, int seconds)
    {
        var key = $"{width}x{height}x{seconds}{(Flat ? "-flat" : "")}";
        var entry = Cache.GetOrAdd(key, k => new Lazy<Task<string>>(() => RenderAsync(k, width, height, seconds)));
        var task = entry.Value;
        if (task.IsFaulted)
        {
            Cache.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, entry));
        }

        return task;
    }

    private async Task<string> RenderAsync(string key, int width, int height, int seconds)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, key + ".mp4");
        if (File.Exists(path))
        {
            return path;
        }

        var partial = path + "." + Guid.NewGuid().ToString("N") + ".part.mp4";
        var psi = new ProcessStartInfo(FfmpegPath) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
        {
            "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", Flat ? $"color=c=gray:size={width}x{height}:rate=24" : $"testsrc2=size={width}x{height}:rate=24",
            "-t", seconds.ToString(CultureInfo.InvariantCulture),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-y", partial,
        })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start.");
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg failed rendering the emulator video: {await errors.ConfigureAwait(false)}");
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }
}
