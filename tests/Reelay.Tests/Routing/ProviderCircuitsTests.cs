using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Routing;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Routing;

public sealed class ProviderCircuitsTests
{
    private static readonly SubmitOutcome Unavailable = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, "503"));
    private static readonly SubmitOutcome TimedOut = new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamTimeout, "no answer"));
    private static readonly SubmitOutcome AuthRefused = new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, "bad key"));
    private static readonly SubmitOutcome Accepted = new SubmitOutcome.Accepted("task-1");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-30T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private ProviderCircuits Circuits(int threshold = 3, double breakSeconds = 30) => new(
        new Dictionary<string, CircuitOptions> { ["a"] = new() { FailureThreshold = threshold, BreakDuration = TimeSpan.FromSeconds(breakSeconds) } },
        _clock,
        NullLogger<ProviderCircuits>.Instance);

    [Fact]
    public void Record_FailuresBelowThreshold_StaysClosed()
    {
        var circuits = Circuits(threshold: 3);
        circuits.Record("a", Unavailable);
        circuits.Record("a", TimedOut);

        Assert.Equal(CircuitState.Closed, circuits.Get("a")!.State);
        Assert.Equal(2, circuits.Get("a")!.ConsecutiveFailures);
        Assert.True(circuits.IsAvailable("a"));
        Assert.True(circuits.TryAcquire("a", out _));
    }

    [Fact]
    public void Record_ThresholdOfSickFailures_OpensAndIsSkippedUntilTheBreakEnds()
    {
        var circuits = Circuits(threshold: 3, breakSeconds: 30);
        circuits.Record("a", Unavailable);
        circuits.Record("a", TimedOut);
        circuits.Record("a", AuthRefused);

        var snapshot = circuits.Get("a")!;
        Assert.Equal(CircuitState.Open, snapshot.State);
        Assert.Equal(_clock.GetUtcNow().AddSeconds(30), snapshot.OpenUntil);
        Assert.Contains("upstream_auth", snapshot.LastFailure, StringComparison.Ordinal);
        Assert.False(circuits.IsAvailable("a"));
        Assert.False(circuits.TryAcquire("a", out var retryIn));
        Assert.Equal(TimeSpan.FromSeconds(30), retryIn);

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(circuits.IsAvailable("a"));
        Assert.False(circuits.TryAcquire("a", out retryIn));
        Assert.Equal(TimeSpan.FromSeconds(1), retryIn);
    }

    [Fact]
    public void TryAcquire_AfterTheBreak_LetsExactlyOneTrialThroughThenSuccessCloses()
    {
        var circuits = Circuits(threshold: 1, breakSeconds: 10);
        circuits.Record("a", Unavailable);
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(CircuitState.HalfOpen, circuits.Get("a")!.State);
        Assert.True(circuits.IsAvailable("a"));
        Assert.True(circuits.TryAcquire("a", out _)); // the trial
        Assert.False(circuits.TryAcquire("a", out _)); // a second job waits for the trial's outcome
        Assert.False(circuits.IsAvailable("a"));

        circuits.Record("a", Accepted);

        Assert.Equal(CircuitState.Closed, circuits.Get("a")!.State);
        Assert.Equal(0, circuits.Get("a")!.ConsecutiveFailures);
        Assert.True(circuits.TryAcquire("a", out _));
        Assert.True(circuits.TryAcquire("a", out _));
    }

    [Fact]
    public void Record_TrialFails_OpensForAnotherBreakAtOnce()
    {
        var circuits = Circuits(threshold: 3, breakSeconds: 10);
        for (var i = 0; i < 3; i++)
        {
            circuits.Record("a", Unavailable);
        }

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(circuits.TryAcquire("a", out _));
        circuits.Record("a", TimedOut); // one failure is enough while half-open

        var snapshot = circuits.Get("a")!;
        Assert.Equal(CircuitState.Open, snapshot.State);
        Assert.Equal(_clock.GetUtcNow().AddSeconds(10), snapshot.OpenUntil);
    }

    [Fact]
    public void TryAcquire_TrialNeverAnswered_AnotherTrialAfterOneBreak()
    {
        var circuits = Circuits(threshold: 1, breakSeconds: 10);
        circuits.Record("a", Unavailable);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(circuits.TryAcquire("a", out _));

        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(circuits.TryAcquire("a", out _));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(circuits.TryAcquire("a", out _));
    }

    [Theory]
    [InlineData(ErrorCodes.InvalidRequest)]
    [InlineData(ErrorCodes.ModerationBlocked)]
    [InlineData(ErrorCodes.ImageInvalid)]
    public void Record_ClientErrorsAndModeration_NeverOpenAndResetTheCount(string code)
    {
        var circuits = Circuits(threshold: 2);
        circuits.Record("a", Unavailable);
        for (var i = 0; i < 10; i++)
        {
            circuits.Record("a", new SubmitOutcome.Rejected(new JobError(code, "the request itself")));
        }

        Assert.Equal(CircuitState.Closed, circuits.Get("a")!.State);
        Assert.Equal(0, circuits.Get("a")!.ConsecutiveFailures);
    }

    [Fact]
    public void Record_RateLimited_CountsAsNeither()
    {
        var circuits = Circuits(threshold: 2);
        circuits.Record("a", Unavailable);
        for (var i = 0; i < 10; i++)
        {
            circuits.Record("a", new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, "429"), TimeSpan.FromSeconds(1)));
        }

        Assert.Equal(CircuitState.Closed, circuits.Get("a")!.State);
        Assert.Equal(1, circuits.Get("a")!.ConsecutiveFailures);
    }

    [Fact]
    public void Record_SuccessBetweenFailures_ResetsTheCount()
    {
        var circuits = Circuits(threshold: 3);
        circuits.Record("a", Unavailable);
        circuits.Record("a", Unavailable);
        circuits.Record("a", Accepted);
        circuits.Record("a", Unavailable);
        circuits.Record("a", Unavailable);

        Assert.Equal(CircuitState.Closed, circuits.Get("a")!.State);
    }

    [Fact]
    public void Get_InstanceWithoutCircuitOrDisabled_NullAndAlwaysAvailable()
    {
        var circuits = new ProviderCircuits(
            new Dictionary<string, CircuitOptions> { ["off"] = new() { Enabled = false, FailureThreshold = 1 } },
            _clock,
            NullLogger<ProviderCircuits>.Instance);
        circuits.Record("off", Unavailable);
        circuits.Record("sandbox", Unavailable);

        Assert.Null(circuits.Get("off"));
        Assert.Null(circuits.Get("sandbox"));
        Assert.True(circuits.IsAvailable("off"));
        Assert.True(circuits.TryAcquire("off", out _));
    }

    [Theory]
    [InlineData(0, 30, "FailureThreshold must be 1 to 1000")]
    [InlineData(5, 0.01, "BreakDuration must be 100 ms to 1 hour")]
    [InlineData(5, 7200, "BreakDuration must be 100 ms to 1 hour")]
    public void Validate_OutOfRange_NamesTheKey(int threshold, double breakSeconds, string expected)
    {
        var errors = new CircuitOptions { FailureThreshold = threshold, BreakDuration = TimeSpan.FromSeconds(breakSeconds) }.Validate("Reelay:Providers:a:Circuit").ToList();

        var error = Assert.Single(errors);
        Assert.StartsWith("Reelay:Providers:a:Circuit:", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_OpenCircuit_FirstAndNextAfterPreferTheAvailableDeploymentWithoutDroppingIt()
    {
        var circuits = Circuits(threshold: 1);
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "a"), new FakeProvider(_clock, "b"), new FakeProvider(_clock, "c")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a-t2v", null, 0), new("b", "b-t2v", null, 0), new("c", "c-t2v", null, 0)] },
            [],
            circuits);
        var job = new Job
        {
            Id = Job.NewId(),
            Owner = "k",
            Model = "sora-2",
            Mode = VideoMode.TextToVideo,
            DurationSeconds = 4,
            Width = 1280,
            Height = 720,
            Status = JobStatus.Queued,
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
            Deadline = DateTimeOffset.UnixEpoch.AddHours(1),
        };

        Assert.Equal("a", router.First(job)!.Provider.Name);
        circuits.Record("a", Unavailable);

        Assert.Equal(["a", "b", "c"], router.Plan(job).Select(r => r.Provider.Name)); // the plan itself is stable
        Assert.Equal("b", router.First(job)!.Provider.Name);
        Assert.Equal("b", router.NextAfter(job with { Provider = "a", UpstreamModel = "a-t2v" })!.Provider.Name);
    }
}
