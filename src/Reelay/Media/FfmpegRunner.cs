using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Diagnostics;

namespace Reelay.Media;

/// <summary>
/// Runs ffmpeg and ffprobe as child processes. Arguments are passed as a list (never through a shell), stderr is
/// kept as a short tail for error messages, and every run has a watchdog: a run that makes no progress for
/// <see cref="StallTimeout"/> is stopped, as is a cancelled one. Stopping sends SIGTERM to the run's own process group
/// (each run is started in a new session with <c>setsid</c> where it exists), then SIGKILL after
/// <see cref="KillGracePeriod"/>, and waits for the process to exit, so a tool never outlives the work it was started for.
/// </summary>
public sealed partial class FfmpegRunner
{
    private const int StderrTailLines = 12;
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private static readonly Lazy<string?> Setsid = new(() => OperatingSystem.IsWindows() ? null : FindOnPath("setsid"));
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner.</summary>
    /// <param name="ffmpegPath">The ffmpeg executable (a name on PATH or a full path).</param>
    /// <param name="ffprobePath">The ffprobe executable (a name on PATH or a full path).</param>
    /// <param name="logger">Logger; null for none.</param>
    /// <param name="options">The watchdog's limits; null for the defaults.</param>
    /// <param name="timeProvider">Clock for the watchdog; null for the system clock (real processes stall in real time, so
    /// a test's manual clock is rarely what a host wants here).</param>
    public FfmpegRunner(string ffmpegPath = "ffmpeg", string ffprobePath = "ffprobe", ILogger? logger = null, MediaOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ffmpegPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(ffprobePath);
        options ??= new MediaOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StallTimeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.KillGracePeriod, TimeSpan.Zero, nameof(options));
        FfmpegPath = ffmpegPath;
        FfprobePath = ffprobePath;
        StallTimeout = options.StallTimeout;
        KillGracePeriod = options.KillGracePeriod;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The ffmpeg executable.</summary>
    public string FfmpegPath { get; }

    /// <summary>The ffprobe executable.</summary>
    public string FfprobePath { get; }

    /// <summary>How long a run may go without progress before it is stopped.</summary>
    public TimeSpan StallTimeout { get; }

    /// <summary>How long a stopped run gets between SIGTERM and SIGKILL.</summary>
    public TimeSpan KillGracePeriod { get; }

    /// <summary>Whether runs get their own process group (so stopping one reaches everything it started).</summary>
    public static bool UsesProcessGroups => Setsid.Value is not null;

    /// <summary>
    /// Runs ffmpeg with <paramref name="arguments"/>, preceded by <c>-hide_banner -nostdin -loglevel error -progress pipe:1
    /// -nostats -stats_period 0.25</c> (the progress reports feed the watchdog whether or not <paramref name="progress"/>
    /// is given). Progress is reported synchronously on the reading thread, in order.
    /// </summary>
    /// <param name="arguments">The arguments after the global ones (inputs, filters, outputs).</param>
    /// <param name="progress">Receives ffmpeg's own progress reports; null for none.</param>
    /// <param name="workingDirectory">The working directory for relative paths; null for the current one.</param>
    /// <param name="cancellationToken">Stops the run when cancelled.</param>
    /// <exception cref="FfmpegException">ffmpeg could not start, exited with a non-zero code, or stalled (<see cref="FfmpegException.Stalled"/>).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process has exited.</exception>
    public Task RunFfmpegAsync(IReadOnlyList<string> arguments, IProgress<FfmpegProgress>? progress, string? workingDirectory, CancellationToken cancellationToken) =>
        RunFfmpegAsync(arguments, progress, workingDirectory, started: null, cancellationToken);

    /// <summary>Runs ffmpeg; <paramref name="started"/> sees the process once it runs (for tests and bookkeeping).</summary>
    internal async Task RunFfmpegAsync(IReadOnlyList<string> arguments, IProgress<FfmpegProgress>? progress, string? workingDirectory, Action<Process>? started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        List<string> all = ["-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats", "-stats_period", "0.25", .. arguments];
        await RunAsync(FfmpegPath, all, workingDirectory, progress, isFfmpeg: true, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs ffprobe with <paramref name="arguments"/> (after <c>-hide_banner -loglevel error</c>) and returns its standard output.</summary>
    /// <exception cref="FfmpegException">ffprobe could not start, exited with a non-zero code, or stalled.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process has exited.</exception>
    public async Task<string> RunFfprobeAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        List<string> all = ["-hide_banner", "-loglevel", "error", .. arguments];
        return await RunAsync(FfprobePath, all, null, null, isFfmpeg: false, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <c>ffmpeg -version</c> (under the same watchdog and process-group kill as every run) and returns its standard output.</summary>
    /// <exception cref="FfmpegException">ffmpeg could not start, exited with a non-zero code, or stalled.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process has exited.</exception>
    public Task<string> RunVersionAsync(CancellationToken cancellationToken) =>
        RunAsync(FfmpegPath, ["-hide_banner", "-version"], null, null, isFfmpeg: false, null, cancellationToken);

    /// <summary>
    /// Turns a local path into an ffmpeg input or output argument: the <c>file:</c> protocol, so a colon in the
    /// path is never read as a protocol name.
    /// </summary>
    public static string FileArgument(string path) => "file:" + Path.GetFullPath(path);

    private async Task<string> RunAsync(string executable, List<string> arguments, string? workingDirectory, IProgress<FfmpegProgress>? progress, bool isFfmpeg, Action<Process>? started, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tool = Path.GetFileNameWithoutExtension(executable);
        // Resolved here, so a missing tool is "could not start" even when setsid is the process actually started.
        var resolved = Resolve(executable)
            ?? throw new FfmpegException($"Could not start {tool}: '{executable}' was not found.", -1, string.Empty);
        var setsid = Setsid.Value;
        var startInfo = new ProcessStartInfo(setsid ?? resolved)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (setsid is not null)
        {
            // The child .NET starts is never a group leader, so setsid(1) calls setsid(2) and execs the tool in the
            // same process: its pid is the new group's id.
            startInfo.ArgumentList.Add(resolved);
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (workingDirectory is not null)
        {
            startInfo.WorkingDirectory = workingDirectory;
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new FfmpegException($"Could not start {tool}: {ex.Message}", -1, string.Empty, ex);
        }

        var pid = process.Id;
        LogStarted(_logger, tool, pid);
        process.StandardInput.Close();
        started?.Invoke(process);

        var heartbeat = new Heartbeat(_time);
        var tail = new Queue<string>(StderrTailLines);
        var stderrTask = PumpLinesAsync(process.StandardError, line =>
        {
            // Error lines are not progress: a decoder failing the same frame forever writes them forever.
            lock (tail)
            {
                if (tail.Count == StderrTailLines)
                {
                    tail.Dequeue();
                }

                tail.Enqueue(line);
            }
        });
        Task<string> stdoutTask;
        if (isFfmpeg)
        {
            var parser = new FfmpegProgressParser(progress, heartbeat.Beat);
            stdoutTask = PumpLinesAsync(process.StandardOutput, parser.OnLine).ContinueWith(_ => string.Empty, TaskScheduler.Default);
        }
        else
        {
            stdoutTask = ReadAllAsync(process.StandardOutput, heartbeat.Beat);
        }

        var exited = process.WaitForExitAsync(CancellationToken.None);
        var reason = StopReason.None;
        Task? stopping = null;
        var gate = new Lock();
        void Stop(StopReason why)
        {
            lock (gate)
            {
                if (reason != StopReason.None || exited.IsCompleted)
                {
                    return;
                }

                reason = why;
                stopping = StopAsync(process, pid, setsid is not null, exited);
            }
        }

        using (var delays = new CancellationTokenSource())
        using (cancellationToken.UnsafeRegister(_ => Stop(StopReason.Cancelled), null))
        {
            while (!exited.IsCompleted)
            {
                var left = StallTimeout - heartbeat.Idle;
                if (left <= TimeSpan.Zero)
                {
                    LogStalled(_logger, tool, pid, StallTimeout.TotalSeconds);
                    Stop(StopReason.Stalled);
                    break;
                }

                await Task.WhenAny(exited, Task.Delay(left, _time, delays.Token)).ConfigureAwait(false);
            }

            await exited.ConfigureAwait(false);
            await delays.CancelAsync().ConfigureAwait(false);
            Task? stop;
            lock (gate)
            {
                stop = stopping;
            }

            if (stop is not null)
            {
                await stop.ConfigureAwait(false);
            }

            await Task.WhenAll(stderrTask, stdoutTask).ConfigureAwait(false);
        }

        string stderr;
        lock (tail)
        {
            stderr = string.Join('\n', tail);
        }

        StopReason final;
        lock (gate)
        {
            final = reason;
        }

        if (final == StopReason.Cancelled)
        {
            LogKilled(_logger, tool, pid);
            throw new OperationCanceledException(cancellationToken);
        }

        var exitCode = process.ExitCode;
        if (final == StopReason.Stalled)
        {
            throw new FfmpegException(
                $"{tool} made no progress for {StallTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s and was stopped (Reelay:Media:StallTimeout).",
                exitCode,
                stderr)
            { Stalled = true };
        }

        LogExited(_logger, tool, pid, exitCode);
        if (exitCode != 0)
        {
            throw new FfmpegException($"{tool} exited with code {exitCode.ToString(CultureInfo.InvariantCulture)}.", exitCode, stderr);
        }

        return await stdoutTask.ConfigureAwait(false);
    }

    // SIGTERM to the group (ffmpeg finishes its output and exits), SIGKILL to the group when that is ignored.
    private async Task StopAsync(Process process, int pid, bool ownGroup, Task exited)
    {
        if (OperatingSystem.IsWindows())
        {
            KillTree(process);
            return;
        }

        Signal(pid, ownGroup, SigTerm);
        if (KillGracePeriod > TimeSpan.Zero)
        {
            try
            {
                await exited.WaitAsync(KillGracePeriod, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogTerminateIgnored(_logger, pid, KillGracePeriod.TotalSeconds);
            }
        }

        // Whatever is left of the group (the tool, or anything it started) is killed; a no-op when all have gone.
        if (ownGroup)
        {
            _ = NativeMethods.Kill(-pid, SigKill);
        }

        if (!exited.IsCompleted)
        {
            KillTree(process);
        }
    }

    private static void Signal(int pid, bool ownGroup, int signal)
    {
        // A negative pid addresses the process group whose id it is.
        _ = NativeMethods.Kill(ownGroup ? -pid : pid, signal);
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (Win32Exception)
        {
            // Exiting as we tried; WaitForExitAsync still observes it.
        }
    }

    private static async Task PumpLinesAsync(StreamReader reader, Action<string>? onLine)
    {
        while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
        {
            onLine?.Invoke(line);
        }
    }

    private static async Task<string> ReadAllAsync(StreamReader reader, Action onData)
    {
        var text = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
        {
            onData();
            text.Append(buffer, 0, read);
        }

        return text.ToString();
    }

    private static string? Resolve(string executable)
    {
        if (executable.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || executable.Contains(Path.AltDirectorySeparatorChar, StringComparison.Ordinal))
        {
            return File.Exists(executable) ? Path.GetFullPath(executable) : null;
        }

        return FindOnPath(executable);
    }

    private static string? FindOnPath(string name)
    {
        var extensions = OperatingSystem.IsWindows()
            ? (Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE").Split(';', StringSplitOptions.RemoveEmptyEntries).Prepend(string.Empty)
            : [string.Empty];
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Combine(directory, name + extension);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private enum StopReason
    {
        None,
        Cancelled,
        Stalled,
    }

    /// <summary>When the run last made progress.</summary>
    private sealed class Heartbeat(TimeProvider time)
    {
        private long _last = time.GetTimestamp();

        public TimeSpan Idle => time.GetElapsedTime(Interlocked.Read(ref _last));

        public void Beat() => Interlocked.Exchange(ref _last, time.GetTimestamp());
    }

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }

    [LoggerMessage(EventId = LogEventIds.Media + 0, Level = LogLevel.Debug, Message = "{Tool} started (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string tool, int pid);

    [LoggerMessage(EventId = LogEventIds.Media + 1, Level = LogLevel.Debug, Message = "{Tool} (pid {Pid}) exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, string tool, int pid, int exitCode);

    [LoggerMessage(EventId = LogEventIds.Media + 2, Level = LogLevel.Debug, Message = "{Tool} (pid {Pid}) was cancelled; it was stopped")]
    private static partial void LogKilled(ILogger logger, string tool, int pid);

    [LoggerMessage(EventId = LogEventIds.Media + 3, Level = LogLevel.Warning, Message = "{Tool} (pid {Pid}) made no progress for {Seconds} s; stopping it")]
    private static partial void LogStalled(ILogger logger, string tool, int pid, double seconds);

    [LoggerMessage(EventId = LogEventIds.Media + 4, Level = LogLevel.Warning, Message = "Process group {Pid} ignored SIGTERM for {Seconds} s; killing it")]
    private static partial void LogTerminateIgnored(ILogger logger, int pid, double seconds);
}

/// <summary>One progress report from ffmpeg's <c>-progress</c> output.</summary>
/// <param name="OutTime">How far into the output ffmpeg has written.</param>
/// <param name="Ended">True on the last report (<c>progress=end</c>).</param>
public readonly record struct FfmpegProgress(TimeSpan OutTime, bool Ended);

/// <summary>ffmpeg or ffprobe could not start or failed.</summary>
public sealed class FfmpegException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FfmpegException(string message, int exitCode, string stderrTail, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
        StderrTail = stderrTail;
    }

    /// <summary>The exit code; -1 when the process did not start.</summary>
    public int ExitCode { get; }

    /// <summary>The last lines ffmpeg wrote to stderr.</summary>
    public string StderrTail { get; }

    /// <summary>True when the watchdog stopped the run because it made no progress.</summary>
    public bool Stalled { get; init; }
}

/// <summary>
/// Parses the key=value blocks of <c>-progress</c>; each block ends with a <c>progress=</c> line. A block whose frame
/// count, output time or output size moved on since the last one is progress (ffmpeg repeats unchanged blocks while stuck).
/// </summary>
internal sealed class FfmpegProgressParser(IProgress<FfmpegProgress>? progress, Action? advanced = null)
{
    private long _outTimeMicroseconds;
    private long _frame;
    private long _size;
    private (long Time, long Frame, long Size)? _last;

    public void OnLine(string line)
    {
        var eq = line.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            return;
        }

        var key = line.AsSpan(0, eq).Trim();
        var value = line.AsSpan(eq + 1).Trim();
        // ffmpeg writes out_time_ms in microseconds too (a long-standing quirk); out_time_us is preferred.
        if (key.SequenceEqual("out_time_us") || key.SequenceEqual("out_time_ms"))
        {
            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var us) && us >= 0)
            {
                _outTimeMicroseconds = us;
            }
        }
        else if (key.SequenceEqual("frame"))
        {
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var frame))
            {
                _frame = frame;
            }
        }
        else if (key.SequenceEqual("total_size"))
        {
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                _size = size;
            }
        }
        else if (key.SequenceEqual("progress"))
        {
            var now = (_outTimeMicroseconds, _frame, _size);
            if (_last != now)
            {
                _last = now;
                advanced?.Invoke();
            }

            progress?.Report(new FfmpegProgress(TimeSpan.FromMicroseconds(_outTimeMicroseconds), value.SequenceEqual("end")));
        }
    }
}
