using System.Collections.Concurrent;

namespace Reelay.Emulators.Kernel;

/// <summary>Where an emulated task is.</summary>
public enum TaskPhase
{
    /// <summary>Waiting.</summary>
    Queued,
    /// <summary>Generating.</summary>
    Running,
    /// <summary>Done; the video is ready.</summary>
    Succeeded,
    /// <summary>Failed.</summary>
    Failed,
}

/// <summary>How an emulated task will end.</summary>
public enum TaskEnding
{
    /// <summary>A video.</summary>
    Success,
    /// <summary>Output moderation at 90 %.</summary>
    ModerationAtNinety,
    /// <summary>A generic generation failure halfway.</summary>
    GenerationError,
}

/// <summary>One emulated generation task. Its progress follows the clock: queued, then a linear climb to 100 %.</summary>
public sealed class EmulatedTask
{
    /// <summary>The emulator's task id.</summary>
    public required string Id { get; init; }

    /// <summary>The model the client named.</summary>
    public required string Model { get; init; }

    /// <summary>The prompt.</summary>
    public string? Prompt { get; init; }

    /// <summary>Output width.</summary>
    public required int Width { get; init; }

    /// <summary>Output height.</summary>
    public required int Height { get; init; }

    /// <summary>Output length in seconds.</summary>
    public required int Seconds { get; init; }

    /// <summary>Whether a first frame was given.</summary>
    public bool HasImage { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>How long it waits before running.</summary>
    public required TimeSpan QueueTime { get; init; }

    /// <summary>How long it runs.</summary>
    public required TimeSpan RunTime { get; init; }

    /// <summary>How it ends.</summary>
    public TaskEnding Ending { get; init; }

    /// <summary>Anything else the emulator wants to remember (the original request fields).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>Set when a client cancelled it.</summary>
    public DateTimeOffset? CancelledAt { get; set; }

    /// <summary>The phase and progress (0-100) at <paramref name="now"/>.</summary>
    public (TaskPhase Phase, int Progress) At(DateTimeOffset now)
    {
        if (CancelledAt is not null)
        {
            return (TaskPhase.Failed, 0);
        }

        var elapsed = now - CreatedAt - QueueTime;
        if (elapsed < TimeSpan.Zero)
        {
            return (TaskPhase.Queued, 0);
        }

        var fraction = RunTime <= TimeSpan.Zero ? 1 : Math.Min(1, elapsed / RunTime);
        var progress = (int)Math.Floor(fraction * 100);
        return Ending switch
        {
            TaskEnding.ModerationAtNinety when progress >= 90 => (TaskPhase.Failed, 90),
            TaskEnding.GenerationError when progress >= 50 => (TaskPhase.Failed, 50),
            _ when progress >= 100 => (TaskPhase.Succeeded, 100),
            _ => (TaskPhase.Running, progress),
        };
    }

    /// <summary>When it reached its terminal phase, if it has by <paramref name="now"/>.</summary>
    public DateTimeOffset? FinishedAt(DateTimeOffset now)
    {
        if (CancelledAt is { } cancelled)
        {
            return cancelled;
        }

        var end = Ending switch
        {
            TaskEnding.ModerationAtNinety => CreatedAt + QueueTime + (RunTime * 0.9),
            TaskEnding.GenerationError => CreatedAt + QueueTime + (RunTime * 0.5),
            _ => CreatedAt + QueueTime + RunTime,
        };
        return now >= end ? end : null;
    }
}

/// <summary>The emulator's task table.</summary>
public sealed class EmulatedTasks
{
    private readonly ConcurrentDictionary<string, EmulatedTask> _tasks = new(StringComparer.Ordinal);

    /// <summary>Every task created so far.</summary>
    public int Count => _tasks.Count;

    /// <summary>Adds a task.</summary>
    public EmulatedTask Add(EmulatedTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        _tasks[task.Id] = task;
        return task;
    }

    /// <summary>A task by id, or null.</summary>
    public EmulatedTask? Find(string id) => _tasks.GetValueOrDefault(id);

    /// <summary>All tasks.</summary>
    public IReadOnlyCollection<EmulatedTask> All => [.. _tasks.Values];
}
