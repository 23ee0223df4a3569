using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Reelay.Cluster;

namespace Reelay.Tests.Cluster;

/// <summary>
/// The leased limiter's arithmetic on a manual clock: the bucket's shape, the expiry of leased permits, two limiters
/// ("nodes") sharing one bucket (an in-memory stand-in for the PostgreSQL row, with the same refill-and-take rule), and the
/// fall back to a local share when the bucket cannot be reached.
/// </summary>
public sealed class LeasedRateLimiterTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(9.5)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(40)]
    [InlineData(400)]
    [InlineData(100_000)]
    public void For_AnyLimit_NoSecondSeesMoreThanTheLimitOrOneMoreBelowTen(double limit)
    {
        var shape = LeasedRateShape.For(limit);

        Assert.InRange(shape.MaxPerSecond, 0, (limit >= 10 ? limit : limit + 1) + 1e-9);
        Assert.InRange(shape.Batch, 1, shape.Capacity);
        Assert.True(shape.Batch <= Math.Max(1, limit / 20), $"batch {shape.Batch} is not a small fraction of {limit}/s");
        if (limit >= 10)
        {
            // Sustained at least about three quarters of the limit (the price of never exceeding it in any second).
            Assert.True(shape.RefillPerSecond >= 0.75 * limit, $"refill {shape.RefillPerSecond}/s for {limit}/s");
        }
    }

    [Fact]
    public void For_HighRate_CostsAboutTwentyTakesASecondWhateverTheRate()
    {
        var shape = LeasedRateShape.For(2000);

        Assert.Equal(100, shape.Batch);
        Assert.InRange(shape.RefillPerSecond / shape.Batch, 15, 20);
    }

    [Fact]
    public void TryTake_AfterTheLeaseLifetime_LeftoverPermitsExpire()
    {
        var permits = new LeasedPermits();
        permits.Add(5, Start + TimeSpan.FromMilliseconds(100));

        Assert.True(permits.TryTake(2, Start));
        Assert.Equal(3, permits.Available(Start + TimeSpan.FromMilliseconds(99)));
        Assert.False(permits.TryTake(1, Start + TimeSpan.FromMilliseconds(100)));
        Assert.Equal(0, permits.Available(Start + TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void WaitFor_EmptyBucket_TheTimeToRefillOneBatch()
    {
        var shape = LeasedRateShape.For(40); // capacity 4, batch 2, refill 36 / 1.1 per second

        Assert.Equal(2, shape.Batch);
        Assert.Equal(2 / shape.RefillPerSecond, shape.WaitFor(0).TotalSeconds, 3);
        Assert.Equal(1.5 / shape.RefillPerSecond, shape.WaitFor(0.5).TotalSeconds, 3);
        Assert.Equal(1, LeasedRateShape.For(0.5).WaitFor(0).TotalSeconds, 3); // at most a second, whatever the rate
    }

    [Fact]
    public async Task AcquireAsync_TwoNodesOnOneBucket_NoSecondSeesMoreThanTheLimitAndBothAreServed()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        const double limit = 40;
        var time = new FakeTimeProvider(Start);
        var bucket = new MemoryBuckets(time);
        using var a = new LeasedRateLimiter(bucket, "provider.mv", "node-a", limit, time, new ListLogger<LeasedRateLimiter>());
        using var b = new LeasedRateLimiter(bucket, "provider.mv", "node-b", limit, time, new ListLogger<LeasedRateLimiter>());
        var grants = new List<(DateTimeOffset At, string Node)>();
        var pending = new Dictionary<string, (LeasedRateLimiter Limiter, Task<RateLimitLease> Task)>
        {
            ["a"] = (a, a.AcquireAsync(1).AsTask()),
            ["b"] = (b, b.AcquireAsync(1).AsTask()),
        };

        // Three seconds of a demand far above the limit from both nodes, one millisecond at a time (off xUnit's
        // synchronization context, so that letting the released continuations run is cheap).
        await Task.Run(async () =>
        {
        for (var ms = 0; ms < 3000; ms++)
        {
            foreach (var node in pending.Keys.ToList())
            {
                var (limiter, task) = pending[node];
                while (await Settled(task))
                {
                    Assert.True((await task).IsAcquired);
                    grants.Add((time.GetUtcNow(), node));
                    task = limiter.AcquireAsync(1).AsTask();
                }

                pending[node] = (limiter, task);
            }

            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        });

        var times = grants.Select(g => g.At).Order().ToList();
        var busiest = times.Select((t, i) => times.Skip(i).TakeWhile(u => u < t + TimeSpan.FromSeconds(1)).Count()).Max();
        Assert.True(busiest <= limit, $"{busiest} permits in one second for a limit of {limit}");
        Assert.True(grants.Count >= 0.7 * limit * 3, $"only {grants.Count} permits in 3 s");
        Assert.All(new[] { "a", "b" }, node => Assert.True(grants.Count(g => g.Node == node) >= 0.2 * grants.Count, $"node {node} was starved"));

        // Takes, not requests, reach the bucket: both nodes want a permit every millisecond (6000 requests in all), but a
        // node waits for the bucket to refill rather than ask again, so the takes stay near the rate, not the demand.
        Assert.True(bucket.Takes <= limit * 3, $"{bucket.Takes} takes for {grants.Count} permits");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"the simulation took {started.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public async Task AcquireAsync_BucketLost_UsesTheLocalShareLogsOnceAndReturnsWhenItAnswers()
    {
        var time = new FakeTimeProvider(Start);
        var bucket = new MemoryBuckets(time) { LiveNodes = 4 };
        var log = new ListLogger<LeasedRateLimiter>();
        using var limiter = new LeasedRateLimiter(bucket, "provider.mv", "node-a", 40, time, log);
        using (var first = await limiter.AcquireAsync(1))
        {
            Assert.True(first.IsAcquired);
        }

        Assert.Equal(4, limiter.LiveNodes);
        bucket.Failure = new InvalidOperationException("the database is gone");
        time.Advance(TimeSpan.FromSeconds(1)); // the leased batch expired

        for (var i = 0; i < 3; i++)
        {
            using var lease = await limiter.AcquireAsync(1);
            Assert.True(lease.IsAcquired);
            time.Advance(TimeSpan.FromSeconds(6)); // past the retry: the bucket is asked again, and fails again
        }

        Assert.True(limiter.IsOnLocalShare);
        Assert.Equal(10, limiter.LocalShare);
        Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.DoesNotContain("the database is gone", log.Entries.Single().Message, StringComparison.Ordinal);

        bucket.Failure = null;
        using (var back = await limiter.AcquireAsync(1))
        {
            Assert.True(back.IsAcquired);
        }

        Assert.False(limiter.IsOnLocalShare);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("answers again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AcquireAsync_BucketHangs_GivesUpAfterTheTimeoutWithTheWholeLimitWhenNodesAreUnknown()
    {
        var time = new FakeTimeProvider(Start);
        var bucket = new MemoryBuckets(time) { Hang = true };
        using var limiter = new LeasedRateLimiter(bucket, "provider.mv", "node-a", 40, time, new ListLogger<LeasedRateLimiter>());

        var acquiring = limiter.AcquireAsync(1).AsTask();
        Assert.False(await Settled(acquiring));
        time.Advance(LeasedRateLimiter.DatabaseTimeout);

        using var lease = await acquiring.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(lease.IsAcquired);
        Assert.Equal(40, limiter.LocalShare);
    }

    /// <summary>Whether the task completed, after letting continuations that the manual clock released run.</summary>
    private static async Task<bool> Settled(Task task)
    {
        if (!task.IsCompleted)
        {
            await Task.Yield();
        }

        return task.IsCompleted;
    }

    /// <summary>An in-memory stand-in for the PostgreSQL bucket row: the same refill-and-take rule, on the manual clock.</summary>
    private sealed class MemoryBuckets(TimeProvider time) : ITokenBuckets
    {
        private readonly Dictionary<string, (double Tokens, DateTimeOffset At)> _rows = [];

        public int Takes { get; private set; }

        public int LiveNodes { get; init; } = 2;

        public Exception? Failure { get; set; }

        public bool Hang { get; init; }

        public async Task<BucketTake> TakeAsync(string bucket, LeasedRateShape shape, string nodeId, bool reportPresence, CancellationToken cancellationToken)
        {
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (Failure is { } failure)
            {
                throw failure;
            }

            // One take at a time, as the row lock makes them (the manual clock may release both nodes' continuations at once).
            lock (_rows)
            {
                Takes++;
                var now = time.GetUtcNow();
                var tokens = _rows.TryGetValue(bucket, out var row)
                    ? Math.Min(shape.Capacity, row.Tokens + (Math.Max(0, (now - row.At).TotalSeconds) * shape.RefillPerSecond))
                    : shape.Capacity;
                var taken = (int)Math.Min(shape.Batch, Math.Floor(tokens));
                _rows[bucket] = (tokens - taken, now);
                return new BucketTake(taken, tokens - taken, reportPresence ? LiveNodes : 0);
            }
        }
    }
}

/// <summary>A logger that keeps what it is told (level and formatted message).</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries)
        {
            Entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
