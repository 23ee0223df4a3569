using Microsoft.Extensions.Time.Testing;
using Reelay.Jobs;
using Reelay.Routing;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Routing;

public sealed class DeploymentRouterTests
{
    private readonly FakeTimeProvider _clock = new();

    private static Job NewJob(string model = "sora-2", VideoMode mode = VideoMode.TextToVideo, string? id = null) => new()
    {
        Id = id ?? Job.NewId(),
        Owner = "k",
        Model = model,
        Mode = mode,
        DurationSeconds = 4,
        Width = 1280,
        Height = 720,
        Status = JobStatus.Queued,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
        Deadline = DateTimeOffset.UnixEpoch.AddHours(1),
    };

    [Fact]
    public void Plan_Deployments_InConfiguredOrderWithTheUpstreamModelOfTheMode()
    {
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "a"), new FakeProvider(_clock, "b")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("b", "b-t2v", "b-i2v", 0), new("a", "a-t2v", null, 0)] },
            []);

        Assert.Equal(["b:b-t2v", "a:a-t2v"], router.Plan(NewJob()).Select(r => $"{r.Provider.Name}:{r.UpstreamModel}"));
        var image = router.Plan(NewJob(mode: VideoMode.ImageToVideo));
        Assert.Equal(["b:b-i2v"], image.Select(r => $"{r.Provider.Name}:{r.UpstreamModel}"));
    }

    [Fact]
    public void Plan_StandInOptIn_SandboxComesAfterEveryDeploymentAndSaysSo()
    {
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "sandbox"), new FakeProvider(_clock, "a")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a-t2v", null, 0)] },
            ["sora-2"]);

        var plan = router.Plan(NewJob());

        Assert.Equal(["a", "sandbox"], plan.Select(r => r.Provider.Name));
        Assert.True(plan[1].StandIn);
        Assert.Contains("standing in for model 'sora-2'", plan[1].Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ModelWithoutDeployments_UnsupportedModelSaysNoDeployment()
    {
        var router = new DeploymentRouter([new FakeProvider(_clock, "sandbox")], new Dictionary<string, IReadOnlyList<Deployment>>(), []);
        var error = Assert.Throws<ReelayException>(() => router.Plan(NewJob()));
        Assert.Equal(ErrorCodes.UnsupportedModel, error.Error.Code);
        Assert.Contains("no provider deployment serves it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_DisabledInstance_SkippedWithTheReason()
    {
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "b")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a-t2v", null, 0)] },
            []);
        var error = Assert.Throws<ReelayException>(() => router.Plan(NewJob()));
        Assert.Contains("a: the provider instance is turned off", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_Weights_SpreadFirstAttemptsByWeightStablyPerJob()
    {
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "a"), new FakeProvider(_clock, "b")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a", null, 3), new("b", "b", null, 1)] },
            []);

        var firsts = Enumerable.Range(0, 4000).Select(i => router.Plan(NewJob(id: $"video_{i:x8}"))[0].Provider.Name).ToList();
        var shareA = firsts.Count(n => n == "a") / 4000.0;
        Assert.InRange(shareA, 0.70, 0.80);

        var job = NewJob(id: "video_stable");
        var once = router.Plan(job).Select(r => r.Provider.Name).ToList();
        Assert.Equal(once, router.Plan(job).Select(r => r.Provider.Name));
        Assert.Equal(2, once.Distinct().Count());
    }

    [Fact]
    public void NextAfter_LastDeployment_Null()
    {
        var router = new DeploymentRouter(
            [new FakeProvider(_clock, "a"), new FakeProvider(_clock, "b")],
            new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a", null, 0), new("b", "b", null, 0)] },
            []);
        var job = NewJob() with { Provider = "a", UpstreamModel = "a" };
        Assert.Equal("b", router.NextAfter(job)!.Provider.Name);
        Assert.Null(router.NextAfter(job with { Provider = "b", UpstreamModel = "b" }));
    }
}
