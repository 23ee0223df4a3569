using System.Diagnostics;
using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class FfmpegRunnerTests
{
    private readonly FfmpegRunner _runner = new();

    [Fact]
    public async Task RunFfmpegAsync_WithProgress_ReportsNonDecreasingTimesEndingWithEnd()
    {
        var reports = new SyncProgress<FfmpegProgress>();

        await _runner.RunFfmpegAsync(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=3", "-f", "null", "-"], reports, null, CancellationToken.None);

        Assert.NotEmpty(reports.Values);
        Assert.True(reports.Values[^1].Ended);
        Assert.Single(reports.Values, r => r.Ended);
        Assert.InRange(reports.Values[^1].OutTime.TotalSeconds, 2.9, 3.1);
        for (var i = 1; i < reports.Values.Count; i++)
        {
            Assert.True(reports.Values[i].OutTime >= reports.Values[i - 1].OutTime);
        }
    }

    [Fact]
    public async Task RunFfmpegAsync_InvalidFilter_ThrowsWithStderrTail()
    {
        var ex = await Assert.ThrowsAsync<FfmpegException>(() =>
            _runner.RunFfmpegAsync(["-f", "lavfi", "-i", "nosuchsource_xyz", "-f", "null", "-"], null, null, CancellationToken.None));

        Assert.NotEqual(0, ex.ExitCode);
        Assert.Contains("nosuchsource_xyz", ex.StderrTail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunFfmpegAsync_MissingExecutable_ThrowsCouldNotStart()
    {
        var runner = new FfmpegRunner("reelay-no-such-ffmpeg", "reelay-no-such-ffprobe");

        var ex = await Assert.ThrowsAsync<FfmpegException>(() => runner.RunFfmpegAsync(["-version"], null, null, CancellationToken.None));

        Assert.Equal(-1, ex.ExitCode);
    }

    [Fact]
    public async Task RunFfmpegAsync_Cancelled_KillsProcessAndThrows()
    {
        using var cts = new CancellationTokenSource();
        var reports = new SyncProgress<FfmpegProgress>();
        Process? own = null;
        var started = new TaskCompletionSource();

        var run = _runner.RunFfmpegAsync(
            ["-re", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-f", "null", "-"],
            reports,
            null,
            p =>
            {
                own = Process.GetProcessById(p.Id);
                started.SetResult();
            },
            cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.NotNull(own);
        Assert.True(own.HasExited);
        own.Dispose();
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task RunFfmpegAsync_NeverProgresses_WatchdogKillsTheWholeProcessGroup()
    {
        using var temp = new TempDirectory();
        // A fake ffmpeg that ignores SIGTERM (as do its children, which inherit that), starts a stubborn child, writes
        // errors forever (which are not progress) and never reports progress.
        var fake = temp.File("stuck-ffmpeg");
        await File.WriteAllTextAsync(fake, $$"""
            #!/bin/sh
            trap '' TERM
            sleep 300 &
            echo $! > '{{temp.File("child.pid")}}'
            while :; do echo 'inflate returned error -3' >&2; sleep 0.1; done
            """);
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var runner = new FfmpegRunner(fake, "ffprobe", options: new MediaOptions { StallTimeout = TimeSpan.FromSeconds(1), KillGracePeriod = TimeSpan.FromMilliseconds(500) });
        var pid = 0;

        var ex = await Assert.ThrowsAsync<FfmpegException>(() =>
            runner.RunFfmpegAsync(["-i", "whatever"], null, null, p => pid = p.Id, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.True(ex.Stalled);
        Assert.Contains("no progress", ex.Message, StringComparison.Ordinal);
        Assert.Contains("inflate returned error", ex.StderrTail, StringComparison.Ordinal);
        Assert.False(IsAlive(pid), "the fake ffmpeg survived");
        if (FfmpegRunner.UsesProcessGroups)
        {
            var child = int.Parse((await File.ReadAllTextAsync(temp.File("child.pid"))).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(IsAlive(child), "a child in the fake ffmpeg's process group survived");
        }
    }

    [Fact]
    public async Task RunFfmpegAsync_SlowButProgressing_IsNotStopped()
    {
        // Three seconds of real-time output with a one-second stall limit: steady progress keeps it alive.
        var runner = new FfmpegRunner(options: new MediaOptions { StallTimeout = TimeSpan.FromSeconds(1) });
        var reports = new SyncProgress<FfmpegProgress>();

        await runner.RunFfmpegAsync(["-re", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3", "-f", "null", "-"], reports, null, CancellationToken.None);

        Assert.True(reports.Values[^1].Ended);
    }

    [Fact]
    public void ProgressParser_RepeatedBlocks_AreNotProgress()
    {
        var advanced = 0;
        var parser = new FfmpegProgressParser(null, () => advanced++);

        foreach (var line in new[] { "frame=0", "out_time_us=0", "total_size=0", "progress=continue", "frame=0", "out_time_us=0", "total_size=0", "progress=continue", "frame=1", "progress=continue", "total_size=48", "progress=end" })
        {
            parser.OnLine(line);
        }

        Assert.Equal(3, advanced);
    }

    private static bool IsAlive(int pid)
    {
        // Gone, or a zombie waiting for a parent that is not us.
        var stat = $"/proc/{pid}/stat";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                var text = File.ReadAllText(stat);
                return text[(text.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
            }
            catch (IOException)
            {
                return false;
            }
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    public async Task RunFfprobeAsync_Video_ReturnsJson()
    {
        using var temp = new TempDirectory();
        var video = TestMedia.Video(temp.File("v.mp4"), 160, 120, 1);

        var json = await _runner.RunFfprobeAsync(["-print_format", "json", "-show_format", FfmpegRunner.FileArgument(video)], CancellationToken.None);

        Assert.Contains("\"format\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgressParser_Blocks_ReportsEachBlockInMicroseconds()
    {
        var reports = new SyncProgress<FfmpegProgress>();
        var parser = new FfmpegProgressParser(reports);

        foreach (var line in new[] { "frame=1", "out_time_us=N/A", "progress=continue", "out_time_ms=1500000", "progress=continue", "out_time_us=2000000", "out_time=00:00:02.000000", "progress=end" })
        {
            parser.OnLine(line);
        }

        Assert.Equal(
            [new FfmpegProgress(TimeSpan.Zero, false), new FfmpegProgress(TimeSpan.FromSeconds(1.5), false), new FfmpegProgress(TimeSpan.FromSeconds(2), true)],
            reports.Values);
    }
}

/// <summary>Collects reports synchronously, in order (unlike <see cref="Progress{T}"/>).</summary>
internal sealed class SyncProgress<T> : IProgress<T>
{
    private readonly Lock _lock = new();

    public List<T> Values { get; } = [];

    public void Report(T value)
    {
        lock (_lock)
        {
            Values.Add(value);
        }
    }
}
