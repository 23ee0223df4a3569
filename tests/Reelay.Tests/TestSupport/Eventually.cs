using Microsoft.Extensions.Time.Testing;

namespace Reelay.Tests.TestSupport;

public static class Eventually
{
    /// <summary>Waits (in real time, at most <paramref name="seconds"/>) until <paramref name="condition"/> holds; advances <paramref name="clock"/> by <paramref name="step"/> between checks when given.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, FakeTimeProvider? clock = null, TimeSpan? step = null, int seconds = 15)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return;
            }

            if (clock is not null && step is { } s)
            {
                clock.Advance(s);
            }

            await Task.Delay(10);
        }

        Assert.Fail($"Timed out waiting for: {what}");
    }

    public static Task TrueAsync(Func<bool> condition, string what, FakeTimeProvider? clock = null, TimeSpan? step = null, int seconds = 15) =>
        TrueAsync(() => Task.FromResult(condition()), what, clock, step, seconds);
}
