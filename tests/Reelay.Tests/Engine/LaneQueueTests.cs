using System.Diagnostics;
using Reelay.Engine;

namespace Reelay.Tests.Engine;

public sealed class LaneQueueTests
{
    [Fact]
    public void PositionOf_BackAndFrontAdditions_MatchesTheOrder()
    {
        var queue = new LaneQueue();
        queue.Add("a");
        queue.Add("b");
        queue.Add("c", front: true);
        queue.Add("d", front: true);

        Assert.Equal(["d", "c", "a", "b"], new[] { "a", "b", "c", "d" }.OrderBy(id => queue.PositionOf(id)).ToArray());
        Assert.Equal(1, queue.PositionOf("d"));
        Assert.Equal(4, queue.PositionOf("b"));
        Assert.Null(queue.PositionOf("missing"));
    }

    [Fact]
    public void Add_IdAlreadyWaiting_IsRefused()
    {
        var queue = new LaneQueue();

        Assert.True(queue.Add("a"));
        Assert.False(queue.Add("a", front: true));
        Assert.Equal(1, queue.Count);
    }

    [Fact]
    public void Operations_RandomMixAgainstAListModel_AgreeAtEveryStep()
    {
        var random = new Random(11);
        var queue = new LaneQueue();
        var model = new List<string>();
        for (var step = 0; step < 20_000; step++)
        {
            var roll = random.Next(10);
            if (roll < 5 || model.Count == 0)
            {
                var id = "j" + step;
                var front = roll == 0;
                queue.Add(id, front);
                if (front)
                {
                    model.Insert(0, id);
                }
                else
                {
                    model.Add(id);
                }
            }
            else if (roll < 8)
            {
                Assert.True(queue.TryTake(out var taken));
                Assert.Equal(model[0], taken);
                model.RemoveAt(0);
            }
            else
            {
                var victim = model[random.Next(model.Count)];
                Assert.True(queue.Remove(victim));
                model.Remove(victim);
            }

            Assert.Equal(model.Count, queue.Count);
            if (model.Count > 0)
            {
                var probe = random.Next(model.Count);
                Assert.Equal(probe + 1, queue.PositionOf(model[probe]));
            }
        }
    }

    [Fact]
    public void TryTake_Empty_ReturnsFalse()
    {
        Assert.False(new LaneQueue().TryTake(out _));
    }

    [Fact]
    public void PositionOf_HundredThousandWaiting_TakesMicroseconds()
    {
        var queue = new LaneQueue();
        for (var i = 0; i < 100_000; i++)
        {
            queue.Add("job_" + i);
        }

        for (var i = 0; i < 50_000; i += 2)
        {
            queue.Remove("job_" + i); // Departures all over the queue.
        }

        var stopwatch = Stopwatch.StartNew();
        var calls = 0;
        while (stopwatch.ElapsedMilliseconds < 20)
        {
            Assert.Equal(75_000, queue.PositionOf("job_99999"));
            calls++;
        }

        // The goal is 50 µs; the bound is loose so a loaded test machine does not fail it, but a walk (≈1 ms) would.
        Assert.True(stopwatch.Elapsed.TotalMicroseconds / calls < 250, $"{stopwatch.Elapsed.TotalMicroseconds / calls:0.0} µs per call");
    }
}
