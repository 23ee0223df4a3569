using System.Collections.Concurrent;

namespace Reelay.Emulators.Kernel;

/// <summary>Which kind of request a fault applies to.</summary>
public enum FaultScope
{
    /// <summary>Any request.</summary>
    Any,
    /// <summary>Job creation.</summary>
    Submit,
    /// <summary>Status queries.</summary>
    Poll,
    /// <summary>Result downloads.</summary>
    Download,
}

/// <summary>A way to misbehave once.</summary>
public abstract record Fault
{
    private Fault() { }

    /// <summary>HTTP 429 with Retry-After, in the emulated API's envelope.</summary>
    public sealed record RateLimited(TimeSpan RetryAfter) : Fault;

    /// <summary>An HTTP 5xx in the emulated API's envelope.</summary>
    public sealed record ServerError(int Status = 500) : Fault;

    /// <summary>HTTP 200 with a body that is not valid JSON.</summary>
    public sealed record MalformedJson : Fault;

    /// <summary>The connection is reset before any response.</summary>
    public sealed record ConnectionReset : Fault;

    /// <summary>No answer at all until the client gives up.</summary>
    public sealed record Hang : Fault;

    /// <summary>Answers normally, after a delay.</summary>
    public sealed record Slow(TimeSpan Delay) : Fault;

    /// <summary>An HTTP 401 in the emulated API's envelope, whatever key was sent.</summary>
    public sealed record Unauthorized : Fault;

    /// <summary>The account is out of credit (the API's quota answer).</summary>
    public sealed record QuotaExhausted : Fault;
}

/// <summary>
/// What an emulator should do wrong, settable at run time by tests (this object) or by users (POST /_emulator/faults).
/// One-shot faults are queued per scope and consumed in order; the switches apply to every request or task.
/// </summary>
public sealed class EmulatorFaults
{
    private readonly ConcurrentDictionary<FaultScope, ConcurrentQueue<Fault>> _queues = new();

    /// <summary>Added to every request.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>
    /// A submit creates its task at once, then waits this long before it answers (a slow upstream, as seen by a client that
    /// may crash meanwhile: the task exists and bills, the reply never arrives).
    /// </summary>
    public TimeSpan SubmitReplyDelay { get; set; }

    /// <summary>Every new task fails moderation once it reaches 90 % (as Sora's output review does).</summary>
    public bool ModerateAtNinety { get; set; }

    /// <summary>Result URLs are handed out already expired.</summary>
    public bool ExpiredResultUrls { get; set; }

    /// <summary>Image-to-video requests whose first frame differs from the video size are refused, as Sora does.</summary>
    public bool RequireExactFirstFrameSize { get; set; } = true;

    /// <summary>Queues <paramref name="fault"/> for the next <paramref name="times"/> requests in <paramref name="scope"/>.</summary>
    public EmulatorFaults Add(FaultScope scope, Fault fault, int times = 1)
    {
        ArgumentNullException.ThrowIfNull(fault);
        var queue = _queues.GetOrAdd(scope, _ => new ConcurrentQueue<Fault>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(fault);
        }

        return this;
    }

    /// <summary>Clears queued faults and switches.</summary>
    public void Reset()
    {
        _queues.Clear();
        Latency = TimeSpan.Zero;
        SubmitReplyDelay = TimeSpan.Zero;
        ModerateAtNinety = false;
        ExpiredResultUrls = false;
        RequireExactFirstFrameSize = true;
    }

    /// <summary>The next fault for a request in <paramref name="scope"/> (scope-specific first, then Any), or null.</summary>
    public Fault? Take(FaultScope scope)
    {
        if (_queues.TryGetValue(scope, out var specific) && specific.TryDequeue(out var fault))
        {
            return fault;
        }

        return _queues.TryGetValue(FaultScope.Any, out var any) && any.TryDequeue(out fault) ? fault : null;
    }
}
