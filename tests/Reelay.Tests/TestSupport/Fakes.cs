using System.Collections.Concurrent;
using System.Security.Cryptography;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Storage;

namespace Reelay.Tests.TestSupport;

/// <summary>A hand-written in-memory job store with the same compare-and-set semantics as the real ones.</summary>
public sealed class InMemoryJobStore : IJobStore
{
    private readonly Lock _gate = new();
    private readonly List<Job> _rows = [];

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _rows.Count;
            }
        }
    }

    public Task<Job> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_rows.Any(r => r.Id == job.Id))
            {
                throw new DuplicateJobException(job.Id);
            }

            var stored = job with { Version = 1 };
            _rows.Add(stored);
            return Task.FromResult(stored);
        }
    }

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rows.FirstOrDefault(r => r.Id == id));
        }
    }

    public Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _rows.FindIndex(r => r.Id == job.Id);
            if (index < 0 || _rows[index].Version != job.Version)
            {
                return Task.FromResult<Job?>(null);
            }

            var stored = job with { Version = job.Version + 1 };
            _rows[index] = stored;
            return Task.FromResult<Job?>(stored);
        }
    }

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var rows = _rows.Where(r => r.DeletedAt is null && (query.Owner is null || r.Owner == query.Owner)).ToList();
            if (!query.Ascending)
            {
                rows.Reverse();
            }

            if (query.After is not null)
            {
                var i = rows.FindIndex(r => r.Id == query.After);
                rows = i < 0 ? [] : rows.Skip(i + 1).ToList();
            }

            return Task.FromResult(new JobPage(rows.Take(query.Limit).ToList(), rows.Count > query.Limit));
        }
    }

    public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Job>>(_rows.Where(r => !r.Status.IsTerminal() && r.DeletedAt is null).ToList());
        }
    }

    public Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Job>>(_rows
                .Where(r => r.ExpiresAt is { } e && e <= now && r.ContentDeletedAt is null && r.DeletedAt is null)
                .OrderBy(r => r.ExpiresAt)
                .Take(limit)
                .ToList());
        }
    }

    /// <summary>Overwrites a row as a crash would have left it (test set-up only).</summary>
    public void Put(Job job)
    {
        lock (_gate)
        {
            _rows.RemoveAll(r => r.Id == job.Id);
            _rows.Add(job);
        }
    }
}

/// <summary>An in-memory result store.</summary>
public sealed class InMemoryResultStore : IResultStore
{
    public ConcurrentDictionary<string, byte[]> Objects { get; } = new();

    public async Task<StoredObject> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        Objects[key] = bytes;
        return new StoredObject(key, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public async Task<StoredObject> PutFileAsync(string key, string localPath, string contentType, bool move, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(localPath, cancellationToken);
        if (move)
        {
            File.Delete(localPath);
        }

        Objects[key] = bytes;
        return new StoredObject(key, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public Task<StoredContent?> OpenAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(Objects.TryGetValue(key, out var bytes)
            ? new StoredContent { OpenRead = () => new MemoryStream(bytes, writable: false), Length = bytes.Length, ContentType = "application/octet-stream" }
            : null);

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Objects.TryRemove(key, out _);
        return Task.CompletedTask;
    }
}

/// <summary>Media facts without ffmpeg: any non-empty file is a 4 s video.</summary>
public sealed class FakeMediaInspector : IMediaInspector
{
    public Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken) =>
        Task.FromResult(new FileInfo(path).Length > 0 && !File.ReadAllText(path).StartsWith("broken", StringComparison.Ordinal) ? new VideoFacts(4, 320, 240) : null);

    /// <summary>How many thumbnails were asked for.</summary>
    public int ThumbnailCalls => _thumbnailCalls;

    private int _thumbnailCalls;

    public async Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _thumbnailCalls);
        await File.WriteAllTextAsync(outputPath, "thumbnail", cancellationToken);
        return true;
    }

    /// <summary>What making a spritesheet does: writes "spritesheet" by default; a test may make it throw.</summary>
    public Func<string, bool> OnSpritesheet { get; set; } = output =>
    {
        File.WriteAllText(output, "spritesheet");
        return true;
    };

    public Task<bool> CreateSpritesheetAsync(string videoPath, string outputPath, double durationSeconds, CancellationToken cancellationToken) =>
        Task.FromResult(OnSpritesheet(outputPath));
}

/// <summary>A scriptable provider that records every call with the clock's time.</summary>
public sealed class FakeProvider(TimeProvider clock, string name = "sandbox") : IVideoProvider
{
    public string Name { get; } = name;

    public TimeProvider Clock => clock;

    public int MaxConcurrentJobs { get; set; } = 4;

    public Func<Job, string, string?> Support { get; set; } = (_, _) => null;

    public string? CheckSupport(Job job, string upstreamModel) => Support(job, upstreamModel);

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(new ProbeResult(true, "fake provider"));

    public PollSchedule PollSchedule { get; set; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), 2, 0);

    public Func<ProviderJob, SubmitOutcome> OnSubmit { get; set; } = j => new SubmitOutcome.Accepted("up-" + j.Job.Id);

    /// <summary>(job, n-th poll of that job starting at 1) → outcome.</summary>
    public Func<ProviderJob, int, PollOutcome> OnPoll { get; set; } = (_, n) => n >= 2 ? new PollOutcome.Succeeded(new ResultLocation("https://upstream.invalid/v.mp4", false)) : new PollOutcome.Running(50);

    public Func<ProviderJob, RecoveryOutcome> OnRecover { get; set; } = _ => new RecoveryOutcome.Unknown();

    public ConcurrentQueue<(string JobId, DateTimeOffset At)> Submits { get; } = new();

    public ConcurrentQueue<(string JobId, DateTimeOffset At)> Polls { get; } = new();

    public ConcurrentQueue<string> Cancels { get; } = new();

    public ConcurrentQueue<string> Recoveries { get; } = new();

    /// <summary>Whether a submit "sends a request" (runs <see cref="SubmitSend.BeforeSendAsync"/>) before <see cref="OnSubmit"/>.</summary>
    public bool SendsBeforeSubmit { get; set; } = true;

    public async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        // What UpstreamHttpClient does before an HTTP adapter's request leaves: the engine records the call.
        if (SendsBeforeSubmit)
        {
            await SubmitSend.BeforeSendAsync(cancellationToken);
        }

        Submits.Enqueue((job.Job.Id, clock.GetUtcNow()));
        return OnSubmit(job);
    }

    public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        Polls.Enqueue((job.Job.Id, clock.GetUtcNow()));
        var n = Polls.Count(p => p.JobId == job.Job.Id);
        return Task.FromResult(OnPoll(job, n));
    }

    public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        Recoveries.Enqueue(job.Job.Id);
        return Task.FromResult(OnRecover(job));
    }

    public Task CancelAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        Cancels.Enqueue(job.Job.Id);
        return Task.CompletedTask;
    }

    public async Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken) =>
        await destination.WriteAsync("fake mp4 bytes"u8.ToArray(), cancellationToken);
}
