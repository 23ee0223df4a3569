using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Reelay.Media;

/// <summary>
/// Runs ffmpeg and ffprobe as child processes. Arguments are passed as a list (never through a shell), stderr is
/// kept as a short tail for error messages, and cancellation kills the whole process tree and waits for it to
/// exit, so a tool never outlives the work it was started for.
/// </summary>
public sealed partial class FfmpegRunner
{
    private const int StderrTailLines = 12;
    private readonly ILogger _logger;

    /// <summary>Creates a runner.</summary>
    /// <param name="ffmpegPath">The ffmpeg executable (a name on PATH or a full path).</param>
    /// <param name="ffprobePath">The ffprobe executable (a name on PATH or a full path).</param>
    /// <param name="logger">Logger; null for none.</param>
    public FfmpegRunner(string ffmpegPath = "ffmpeg", string ffprobePath = "ffprobe", ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ffmpegPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(ffprobePath);
        FfmpegPath = ffmpegPath;
        FfprobePath = ffprobePath;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The ffmpeg executable.</summary>
    public string FfmpegPath { get; }

    /// <summary>The ffprobe executable.</summary>
    public string FfprobePath { get; }

    /// <summary>
    /// Runs ffmpeg with <paramref name="arguments"/>, preceded by <c>-hide_banner -nostdin -loglevel error</c> and,
    /// when <paramref name="progress"/> is given, <c>-progress pipe:1 -nostats -stats_period 0.25</c>. Progress is reported
    /// synchronously on the reading thread, in order.
    /// </summary>
    /// <param name="arguments">The arguments after the global ones (inputs, filters, outputs).</param>
    /// <param name="progress">Receives ffmpeg's own progress reports; null for none.</param>
    /// <param name="workingDirectory">The working directory for relative paths; null for the current one.</param>
    /// <param name="cancellationToken">Kills the process tree when cancelled.</param>
    /// <exception cref="FfmpegException">ffmpeg could not start or exited with a non-zero code.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process has exited.</exception>
    public Task RunFfmpegAsync(IReadOnlyList<string> arguments, IProgress<FfmpegProgress>? progress, string? workingDirectory, CancellationToken cancellationToken) =>
        RunFfmpegAsync(arguments, progress, workingDirectory, started: null, cancellationToken);

    /// <summary>Runs ffmpeg; <paramref name="started"/> sees the process once it runs (for tests and bookkeeping).</summary>
    internal async Task RunFfmpegAsync(IReadOnlyList<string> arguments, IProgress<FfmpegProgress>? progress, string? workingDirectory, Action<Process>? started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        List<string> all = ["-hide_banner", "-nostdin", "-loglevel", "error"];
        Action<string>? onLine = null;
        if (progress is not null)
        {
            all.AddRange(["-progress", "pipe:1", "-nostats", "-stats_period", "0.25"]);
            var parser = new FfmpegProgressParser(progress);
            onLine = parser.OnLine;
        }

        all.AddRange(arguments);
        await RunAsync(FfmpegPath, all, workingDirectory, onLine, captureStdout: false, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs ffprobe with <paramref name="arguments"/> (after <c>-hide_banner -loglevel error</c>) and returns its standard output.</summary>
    /// <exception cref="FfmpegException">ffprobe could not start or exited with a non-zero code.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process has exited.</exception>
    public async Task<string> RunFfprobeAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        List<string> all = ["-hide_banner", "-loglevel", "error", .. arguments];
        return await RunAsync(FfprobePath, all, null, null, captureStdout: true, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns a local path into an ffmpeg input or output argument: the <c>file:</c> protocol, so a colon in the
    /// path is never read as a protocol name.
    /// </summary>
    public static string FileArgument(string path) => "file:" + Path.GetFullPath(path);

    private async Task<string> RunAsync(string executable, List<string> arguments, string? workingDirectory, Action<string>? onStdoutLine, bool captureStdout, Action<Process>? started, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tool = Path.GetFileNameWithoutExtension(executable);
        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            CreateNoWindow = true,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
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

        LogStarted(_logger, tool, process.Id);
        process.StandardInput.Close();
        started?.Invoke(process);

        var tail = new Queue<string>(StderrTailLines);
        var stderrTask = PumpLinesAsync(process.StandardError, line =>
        {
            if (tail.Count == StderrTailLines)
            {
                tail.Dequeue();
            }

            tail.Enqueue(line);
        });
        var stdoutTask = captureStdout
            ? process.StandardOutput.ReadToEndAsync(CancellationToken.None)
            : PumpLinesAsync(process.StandardOutput, onStdoutLine).ContinueWith(_ => string.Empty, TaskScheduler.Default);

        var killed = 0;
        using (cancellationToken.UnsafeRegister(_ =>
        {
            Interlocked.Exchange(ref killed, 1);
            Kill(process);
        }, null))
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await Task.WhenAll(stderrTask, stdoutTask).ConfigureAwait(false);
        }

        if (Volatile.Read(ref killed) == 1)
        {
            LogKilled(_logger, tool, process.Id);
            throw new OperationCanceledException(cancellationToken);
        }

        var exitCode = process.ExitCode;
        LogExited(_logger, tool, process.Id, exitCode);
        if (exitCode != 0)
        {
            var stderr = string.Join('\n', tail);
            throw new FfmpegException($"{tool} exited with code {exitCode.ToString(CultureInfo.InvariantCulture)}.", exitCode, stderr);
        }

        return await stdoutTask.ConfigureAwait(false);
    }

    private static void Kill(Process process)
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

    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "{Tool} started (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string tool, int pid);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "{Tool} (pid {Pid}) exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, string tool, int pid, int exitCode);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "{Tool} (pid {Pid}) was cancelled; its process tree was killed")]
    private static partial void LogKilled(ILogger logger, string tool, int pid);
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
}

/// <summary>Parses the key=value blocks of <c>-progress</c>; each block ends with a <c>progress=</c> line.</summary>
internal sealed class FfmpegProgressParser(IProgress<FfmpegProgress> progress)
{
    private long _outTimeMicroseconds;

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
        else if (key.SequenceEqual("progress"))
        {
            progress.Report(new FfmpegProgress(TimeSpan.FromMicroseconds(_outTimeMicroseconds), value.SequenceEqual("end")));
        }
    }
}
