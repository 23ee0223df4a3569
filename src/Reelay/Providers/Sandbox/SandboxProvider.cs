using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Media;

namespace Reelay.Providers.Sandbox;

/// <summary>
/// The sandbox provider: renders a real H.264 MP4 on this machine with ffmpeg, at the job's exact size and duration,
/// with real progress. Free, offline, deterministic (same parameters and seed, same bytes) and not AI: every video
/// says so. Renders run in the background, at most <see cref="SandboxOptions.MaxConcurrentRenders"/> at once, into
/// <c>&lt;data&gt;/work/sandbox/&lt;job id&gt;.mp4</c>. A render lost to a restart is started again on the next poll.
/// </summary>
public sealed partial class SandboxProvider : IVideoProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The provider instance name.</summary>
    public const string ProviderName = "sandbox";

    private const int MaxSide = 4096;
    private const int MinSide = 16;
    private const int MaxDurationSeconds = 600;
    private static readonly string[] Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

    private readonly ConcurrentDictionary<string, Render> _renders = new(StringComparer.Ordinal);
    private readonly SandboxOptions _options;
    private readonly FfmpegRunner _ffmpeg;
    private readonly SandboxRenderer _renderer;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    /// <summary>Creates the provider; its work folder <c>&lt;dataDirectory&gt;/work/sandbox</c> is created by the first render, so merely building one (e.g. `reelay providers check`) writes nothing.</summary>
    /// <param name="options">Sandbox options (fps 24-30, a valid x264 preset, at least one render slot).</param>
    /// <param name="dataDirectory">Reelay's data directory.</param>
    /// <param name="timeProvider">Clock, for render timings.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="media">The ffmpeg watchdog's limits; null for the defaults.</param>
    public SandboxProvider(SandboxOptions options, string dataDirectory, TimeProvider timeProvider, ILogger<SandboxProvider> logger, MediaOptions? media = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.Fps is < 24 or > 30)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Fps, "Sandbox Fps must be between 24 and 30.");
        }

        if (!Presets.Contains(options.Preset, StringComparer.Ordinal))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Preset, $"Sandbox Preset must be one of {string.Join(", ", Presets)}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentRenders, 1, nameof(options));
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        WorkDirectory = Path.Combine(Path.GetFullPath(dataDirectory), "work", "sandbox");
        var font = SandboxRenderer.FindFont();
        if (font is null)
        {
            LogNoFont(_logger);
        }

        _ffmpeg = new FfmpegRunner(options.FfmpegPath, options.FfprobePath, logger, media);
        _renderer = new SandboxRenderer(options, _ffmpeg, font);
        _slots = new SemaphoreSlim(options.MaxConcurrentRenders, options.MaxConcurrentRenders);
    }

    /// <inheritdoc />
    public string Name => ProviderName;

    /// <inheritdoc />
    public PollSchedule PollSchedule { get; } = new(TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(2));

    /// <inheritdoc />
    public int MaxConcurrentJobs => _options.MaxConcurrentRenders;

    /// <inheritdoc />
    public string? CheckSupport(Job job, string upstreamModel) => null;

    /// <inheritdoc />
    /// <remarks>Each one done for real with ffmpeg, and not AI: remix re-renders with the new prompt, edit draws the prompt
    /// over the source's frames, extend renders a continuation and concatenates, characters are named on the title card.</remarks>
    public IReadOnlyList<string> Operations => JobOperations.All;

    /// <inheritdoc />
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => FfmpegVersion.ProbeAsync(_ffmpeg, cancellationToken);

    /// <summary>The folder renders are written to.</summary>
    public string WorkDirectory { get; }

    /// <inheritdoc />
    public Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        var id = CheckJob(job);
        if (Validate(job) is { } error)
        {
            return Task.FromResult<SubmitOutcome>(new SubmitOutcome.Rejected(error));
        }

        Start(job, id);
        return Task.FromResult<SubmitOutcome>(new SubmitOutcome.Accepted(id));
    }

    /// <inheritdoc />
    public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        var id = CheckJob(job);
        if (_renders.TryGetValue(id, out var render))
        {
            switch (render.State)
            {
                case RenderState.Running:
                    return Task.FromResult<PollOutcome>(new PollOutcome.Running(render.Progress));
                case RenderState.Failed:
                    return Task.FromResult<PollOutcome>(new PollOutcome.Failed(render.Error!));
                case RenderState.Cancelled:
                    return Task.FromResult<PollOutcome>(new PollOutcome.Failed(new JobError(ErrorCodes.Cancelled, "The sandbox render was cancelled.")));
                default:
                    // Succeeded: the file on disk is the record from now on.
                    _renders.TryRemove(new KeyValuePair<string, Render>(id, render));
                    break;
            }
        }

        var output = OutputPath(id);
        if (File.Exists(output))
        {
            return Task.FromResult<PollOutcome>(new PollOutcome.Succeeded(new ResultLocation(output, IsLocalFile: true)));
        }

        // Not in memory and not on disk: the process restarted mid-render. Render it again.
        if (Validate(job) is { } error)
        {
            return Task.FromResult<PollOutcome>(new PollOutcome.Failed(error));
        }

        LogRestarted(_logger, id);
        var restarted = Start(job, id);
        return Task.FromResult<PollOutcome>(new PollOutcome.Running(restarted.State == RenderState.Running ? restarted.Progress : 0));
    }

    /// <inheritdoc />
    public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        var id = CheckJob(job);
        // Renders are local: one that is not in memory is definitely not running.
        return Task.FromResult<RecoveryOutcome>(_renders.TryGetValue(id, out var render) && render.State is RenderState.Running or RenderState.Succeeded
            ? new RecoveryOutcome.Found(id)
            : new RecoveryOutcome.NotFound());
    }

    /// <inheritdoc />
    public async Task CancelAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        var id = CheckJob(job);
        if (_renders.TryGetValue(id, out var render))
        {
            await render.CancelAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            render.MarkCancelled();
        }
        else
        {
            _renders.TryAdd(id, Render.Cancelled(id));
        }

        foreach (var part in PartPaths(id))
        {
            TryDelete(part);
        }

        TryDelete(OutputPath(id));
        TryDeleteDirectory(FolderPath(id));
        LogCancelled(_logger, id);
    }

    /// <inheritdoc />
    public async Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(destination);
        var path = Path.GetFullPath(result.Video);
        if (!result.IsLocalFile || !path.StartsWith(WorkDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException("The sandbox only serves files from its own work folder.", nameof(result));
        }

        var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 128 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            await source.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Kills every running render (their ffmpeg process trees) and waits for them to stop.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_renders.Values.Select(r => r.Completion)).ConfigureAwait(false);
        _disposing.Dispose();
        _slots.Dispose();
    }

    /// <summary>Kills every running render and waits for them to stop.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The ffmpeg process of a running render, for tests.</summary>
    internal Process? RenderProcess(string jobId) => _renders.TryGetValue(jobId, out var render) ? render.Process : null;

    /// <summary>The progress of a render in memory (100 once it succeeded), for tests.</summary>
    internal int? RenderProgress(string jobId) => _renders.TryGetValue(jobId, out var render) ? render.Progress : null;

    private Render Start(ProviderJob job, string id)
    {
        var render = new Render(id, job.Job.DurationSeconds, _disposing.Token);
        while (true)
        {
            if (_renders.TryGetValue(id, out var existing))
            {
                if (existing.State is RenderState.Running or RenderState.Succeeded)
                {
                    return existing;
                }

                if (!_renders.TryUpdate(id, render, existing))
                {
                    continue;
                }
            }
            else if (!_renders.TryAdd(id, render))
            {
                continue;
            }

            _ = Task.Run(() => RunAsync(render, job));
            return render;
        }
    }

    private async Task RunAsync(Render render, ProviderJob job)
    {
        var id = render.JobId;
        var cancellationToken = render.CancellationToken;
        var folder = FolderPath(id);
        // A fresh name per render: after a hard kill, an orphaned ffmpeg may still be writing the previous attempt's file.
        var part = Path.Combine(WorkDirectory, $"{id}.{Guid.NewGuid():N}.mp4.part");
        var acquired = false;
        var succeeded = false;
        var cancelled = false;
        JobError? failure = null;
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            acquired = true;
            var started = _timeProvider.GetTimestamp();
            var spec = job.Job;
            LogStarted(_logger, id, spec.Mode, spec.Width, spec.Height, spec.DurationSeconds);
            TryDeleteDirectory(folder);
            Directory.CreateDirectory(folder);
            var image = spec.Mode == VideoMode.ImageToVideo ? await CopyFirstFrameAsync(job, folder, cancellationToken).ConfigureAwait(false) : null;
            var lastFrame = job.OpenLastFrame is { } openLast ? await CopyImageAsync(openLast, folder, "last", "last frame", "last_frame", cancellationToken).ConfigureAwait(false) : null;
            var references = new List<string>();
            for (var i = 0; i < job.OpenReferenceImages.Count; i++)
            {
                references.Add(await CopyImageAsync(job.OpenReferenceImages[i], folder, $"ref{i}", $"reference image {i}", "reference_images", cancellationToken).ConfigureAwait(false));
            }

            var characters = spec.Characters.Count > 0 ? string.Join(", ", spec.Characters.Select(c => c.Name)) : null;
            var operation = spec.Operation;
            var sourceFile = operation is JobOperation.Edit or JobOperation.Extend ? await CopySourceAsync(job, folder, cancellationToken).ConfigureAwait(false) : null;
            if (operation == JobOperation.Extend)
            {
                // The continuation is a title card of the new prompt, then both parts are concatenated: the stitched whole.
                var segment = spec.ExtensionSeconds ?? Math.Max(1, spec.DurationSeconds - 1);
                var continuation = new RenderSpec(VideoMode.TextToVideo, spec.Width, spec.Height, segment, RenderSpec.SeedOf(spec), spec.Prompt, job.StandIn ? spec.Model : null, null, null, characters);
                await _renderer.RenderAsync(continuation, folder, Path.Combine(folder, "continuation.mp4"), render, p => render.Process = p, cancellationToken).ConfigureAwait(false);
                await _renderer.ConcatAsync(spec.Width, spec.Height, folder, sourceFile!, "continuation.mp4", part, render, p => render.Process = p, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var renderSpec = new RenderSpec(spec.Mode, spec.Width, spec.Height, spec.DurationSeconds, RenderSpec.SeedOf(spec), spec.Prompt, job.StandIn ? spec.Model : null, image, sourceFile, characters, lastFrame, references.Count > 0 ? references : null);
                await _renderer.RenderAsync(renderSpec, folder, part, render, p => render.Process = p, cancellationToken).ConfigureAwait(false);
            }
            File.Move(part, OutputPath(id), overwrite: true);
            succeeded = true;
            var elapsed = _timeProvider.GetElapsedTime(started);
            LogSucceeded(_logger, id, elapsed.TotalMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }
        catch (FfmpegException ex)
        {
            LogFailed(_logger, id, ex.ExitCode, ex.StderrTail);
            failure = new JobError(ErrorCodes.RenderFailed, DescribeFailure(ex));
        }
        catch (SandboxInputException ex)
        {
            failure = ex.Error;
        }
        catch (Exception ex)
        {
            LogError(_logger, id, ex);
            failure = new JobError(ErrorCodes.RenderFailed, "The sandbox could not render the video because of an internal error.");
        }
        finally
        {
            ReelayTelemetry.RenderFinished(succeeded ? "succeeded" : cancelled ? "cancelled" : "failed");
            if (acquired)
            {
                _slots.Release();
            }

            // Scratch files go before the outcome is published, so whoever sees the outcome sees a clean work folder.
            render.Process = null;
            TryDeleteDirectory(folder);
            if (!succeeded)
            {
                TryDelete(part);
            }

            if (succeeded)
            {
                render.Succeed();
            }
            else if (cancelled)
            {
                render.MarkCancelled();
            }
            else
            {
                render.Fail(failure ?? new JobError(ErrorCodes.RenderFailed, "The sandbox render stopped without a result."));
            }

            render.Finish();
        }
    }

    private static async Task<string> CopySourceAsync(ProviderJob job, string folder, CancellationToken cancellationToken)
    {
        var open = job.OpenSource ?? throw new SandboxInputException(new JobError(ErrorCodes.InvalidRequest, "This job needs the source video it derives from, and it is not stored.", "video"));
        const string name = "source.mp4";
        var source = await open(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var target = new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 128 * 1024, FileOptions.Asynchronous);
            await using (target.ConfigureAwait(false))
            {
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
        }

        return name;
    }

    private static Task<string> CopyFirstFrameAsync(ProviderJob job, string folder, CancellationToken cancellationToken)
    {
        var open = job.OpenFirstFrame ?? throw new SandboxInputException(new JobError(ErrorCodes.InvalidRequest, "An image-to-video job needs a first frame.", "first_frame"));
        return CopyImageAsync(open, folder, "first", "first frame", "first_frame", cancellationToken);
    }

    // Copies a stored input image into the render folder as <stem>.<png|jpg|webp>, named by its bytes.
    private static async Task<string> CopyImageAsync(Func<CancellationToken, Task<Stream>> open, string folder, string stem, string what, string param, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(folder, stem + ".bin");
        var source = await open(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 128 * 1024, FileOptions.Asynchronous);
            await using (target.ConfigureAwait(false))
            {
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
        }

        var header = new byte[(int)Math.Min(new FileInfo(temp).Length, 1 << 20)];
        var stream = new FileStream(temp, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        }

        var info = ImageInfo.Sniff(header) ?? throw new SandboxInputException(new JobError(ErrorCodes.ImageInvalid, $"The {what} is not a PNG, JPEG or WebP image.", param));
        var name = stem + "." + info.Extension;
        File.Move(temp, Path.Combine(folder, name));
        return name;
    }

    private JobError? Validate(ProviderJob job)
    {
        var j = job.Job;
        if (j.Width is < MinSide or > MaxSide || j.Height is < MinSide or > MaxSide || j.Width % 2 != 0 || j.Height % 2 != 0)
        {
            return new JobError(ErrorCodes.InvalidRequest, $"The sandbox renders even sizes from {MinSide} to {MaxSide} pixels a side; '{j.Size}' is not one.", "size");
        }

        if (j.DurationSeconds is < 1 or > MaxDurationSeconds)
        {
            return new JobError(ErrorCodes.InvalidRequest, $"The sandbox renders 1 to {MaxDurationSeconds} seconds; {j.DurationSeconds} is not allowed.", "duration");
        }

        return j.Mode == VideoMode.ImageToVideo && job.OpenFirstFrame is null
            ? new JobError(ErrorCodes.InvalidRequest, "An image-to-video job needs a first frame.", "first_frame")
            : null;
    }

    private string CheckJob(ProviderJob job)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        ArgumentNullException.ThrowIfNull(job);
        var id = job.Job.Id;
        if (!SafeId().IsMatch(id))
        {
            throw new ArgumentException($"The job id '{id}' cannot name a file.", nameof(job));
        }

        return id;
    }

    private string OutputPath(string id) => Path.Combine(WorkDirectory, id + ".mp4");

    private IEnumerable<string> PartPaths(string id) =>
        Directory.Exists(WorkDirectory) ? Directory.EnumerateFiles(WorkDirectory, id + ".*.mp4.part") : [];

    private string FolderPath(string id) => Path.Combine(WorkDirectory, id + ".tmp");

    /// <summary>A clear sentence, then the end of ffmpeg's complaint with anything that looks like a path removed.</summary>
    internal static string DescribeFailure(FfmpegException ex)
    {
        var message = ex.ExitCode < 0
            ? "The sandbox renderer could not start ffmpeg; is it installed?"
            : $"The sandbox renderer (ffmpeg) failed with exit code {ex.ExitCode.ToString(CultureInfo.InvariantCulture)}.";
        var lines = ex.StderrTail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var tail = string.Join(" | ", lines.TakeLast(3).Select(l => AbsolutePath().Replace(l, "<path>")));
        if (tail.Length > 300)
        {
            tail = string.Concat("…", tail.AsSpan(tail.Length - 299));
        }

        return tail.Length == 0 ? message : $"{message} ffmpeg said: {tail}";
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeId();

    [GeneratedRegex(@"(?:[A-Za-z]:\\|(?<![\w.])/)[^\s'"":,]*(?:[/\\][^\s'"":,]*)*", RegexOptions.CultureInvariant)]
    private static partial Regex AbsolutePath();

    [LoggerMessage(EventId = LogEventIds.Sandbox + 0, Level = LogLevel.Information, Message = "Sandbox render of {JobId} started: {Mode} {Width}x{Height}, {DurationSeconds} s")]
    private static partial void LogStarted(ILogger logger, string jobId, VideoMode mode, int width, int height, int durationSeconds);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 1, Level = LogLevel.Information, Message = "Sandbox render of {JobId} finished in {ElapsedMs:F0} ms")]
    private static partial void LogSucceeded(ILogger logger, string jobId, double elapsedMs);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 2, Level = LogLevel.Warning, Message = "Sandbox render of {JobId} failed: ffmpeg exit code {ExitCode}: {StderrTail}")]
    private static partial void LogFailed(ILogger logger, string jobId, int exitCode, string stderrTail);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 3, Level = LogLevel.Error, Message = "Sandbox render of {JobId} failed unexpectedly")]
    private static partial void LogError(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 4, Level = LogLevel.Information, Message = "Sandbox render of {JobId} was not in memory (restart?); rendering it again")]
    private static partial void LogRestarted(ILogger logger, string jobId);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 5, Level = LogLevel.Information, Message = "Sandbox render of {JobId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string jobId);

    [LoggerMessage(EventId = LogEventIds.Sandbox + 6, Level = LogLevel.Warning, Message = "DejaVu Sans not found (install fonts-dejavu-core); the sandbox's drawtext falls back to fontconfig's default font")]
    private static partial void LogNoFont(ILogger logger);

    private enum RenderState
    {
        Running,
        Succeeded,
        Failed,
        Cancelled,
    }

    /// <summary>One render in memory: its state, progress, ffmpeg process and completion.</summary>
    private sealed class Render : IProgress<FfmpegProgress>
    {
        private readonly CancellationTokenSource _cancellation;
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly double _durationSeconds;
        private int _progress;
        private volatile RenderState _state = RenderState.Running;

        public Render(string jobId, int durationSeconds, CancellationToken disposing)
        {
            JobId = jobId;
            _durationSeconds = Math.Max(1, durationSeconds);
            _cancellation = CancellationTokenSource.CreateLinkedTokenSource(disposing);
        }

        public string JobId { get; }

        public RenderState State => _state;

        public JobError? Error { get; private set; }

        public volatile Process? Process;

        public CancellationToken CancellationToken => _cancellation.Token;

        public Task Completion => _completion.Task;

        /// <summary>0-99 while running (from ffmpeg's output time), 100 once the file is in place.</summary>
        public int Progress => _state == RenderState.Succeeded ? 100 : Volatile.Read(ref _progress);

        public static Render Cancelled(string jobId)
        {
            var render = new Render(jobId, 1, CancellationToken.None);
            render.MarkCancelled();
            render.Finish();
            return render;
        }

        public void Report(FfmpegProgress value)
        {
            var percent = value.Ended ? 99 : (int)Math.Clamp(value.OutTime.TotalSeconds / _durationSeconds * 100, 0, 99);
            var current = Volatile.Read(ref _progress);
            while (percent > current)
            {
                var seen = Interlocked.CompareExchange(ref _progress, percent, current);
                if (seen == current)
                {
                    break;
                }

                current = seen;
            }
        }

        public void Succeed() => _state = RenderState.Succeeded;

        public void Fail(JobError error)
        {
            Error = error;
            _state = RenderState.Failed;
        }

        public void MarkCancelled() => _state = RenderState.Cancelled;

        /// <summary>Cancels the render (killing its ffmpeg) and waits until it has stopped and cleaned up.</summary>
        public Task CancelAsync()
        {
            lock (_completion)
            {
                if (!_completion.Task.IsCompleted)
                {
                    _cancellation.Cancel();
                }
            }

            return Completion;
        }

        public void Finish()
        {
            lock (_completion)
            {
                _cancellation.Dispose();
                _completion.TrySetResult();
            }
        }
    }
}

/// <summary>A problem with the job's input that fails the render with a specific error.</summary>
internal sealed class SandboxInputException(JobError error) : Exception(error.Message)
{
    public JobError Error { get; } = error;
}
