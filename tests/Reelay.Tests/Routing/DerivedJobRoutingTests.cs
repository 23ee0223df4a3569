using Microsoft.Extensions.Time.Testing;
using Reelay.Catalog;
using Reelay.Characters;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Tests.Media;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Routing;

/// <summary>Issue 15: remix, edit and extend are pinned to the deployment that made their source, where it offers them.</summary>
public sealed class DerivedJobRoutingTests
{
    private readonly FakeTimeProvider _clock = new();

    private static Job Derived(JobOperation operation, string sourceProvider, string sourceModel = "up-sora") => new()
    {
        Id = Job.NewId(),
        Owner = "k",
        Model = "sora-2",
        Mode = VideoMode.TextToVideo,
        DurationSeconds = 8,
        Width = 1280,
        Height = 720,
        Status = JobStatus.Queued,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
        Deadline = DateTimeOffset.UnixEpoch.AddHours(1),
        Options = new Dictionary<string, string>
        {
            ["reelay.operation"] = operation.ToWire(),
            ["reelay.source"] = "video_src",
            ["reelay.source_provider"] = sourceProvider,
            ["reelay.source_upstream_model"] = sourceModel,
            ["reelay.source_upstream_id"] = "up-1",
            ["reelay.source_result_key"] = "videos/video_src.mp4",
            ["reelay.extension_seconds"] = "4",
        },
    };

    private DeploymentRouter Router(params string[]? bOperations) => new(
        [new FakeProvider(_clock, "a"), new OperationsProvider(new FakeProvider(_clock, "b"), [JobOperations.Generate, JobOperations.Remix, JobOperations.Extend])],
        new Dictionary<string, IReadOnlyList<Deployment>> { ["sora-2"] = [new("a", "a-t2v", null, 0), new("b", "b-t2v", null, 0) { Operations = bOperations }] },
        []);

    [Fact]
    public void Plan_RemixOfAVideoFromAnUpstreamThatRemixes_PinnedToItsProviderAndUpstreamModel()
    {
        var job = Derived(JobOperation.Remix, "b", "b-old-model");

        var plan = Router(null).Plan(job);

        Assert.Equal(["b:b-old-model"], plan.Select(r => $"{r.Provider.Name}:{r.UpstreamModel}"));
        Assert.Equal("up-1", job.SourceUpstreamId);
        Assert.Equal(4, job.ExtensionSeconds);
        Assert.Equal(JobOperation.Remix, job.Operation);
    }

    [Theory]
    [InlineData(JobOperation.Remix, "a", "does not offer it")]
    [InlineData(JobOperation.Edit, "b", "does not offer it")]
    [InlineData(JobOperation.Extend, "gone", "is turned off")]
    public void Plan_SourceDeploymentCannot_UnsupportedModelNamingTheOperation(JobOperation operation, string sourceProvider, string why)
    {
        var error = Assert.Throws<ReelayException>(() => Router(null).Plan(Derived(operation, sourceProvider)));

        Assert.Equal(ErrorCodes.UnsupportedModel, error.Error.Code);
        Assert.Contains($"The {operation.ToWire()} operation of model 'sora-2'", error.Error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_OperatorNarrowedTheDeployment_Refused()
    {
        var error = Assert.Throws<ReelayException>(() => Router(JobOperations.Generate).Plan(Derived(JobOperation.Remix, "b")));
        Assert.Equal(ErrorCodes.UnsupportedModel, error.Error.Code);
    }

    [Fact]
    public void Plan_SandboxSource_GoesToTheSandboxWhateverTheModel()
    {
        var router = new DeploymentRouter([new FakeProvider(_clock, "sandbox")], new Dictionary<string, IReadOnlyList<Deployment>>(), []);
        var route = Assert.Single(router.Plan(Derived(JobOperation.Extend, "sandbox", "sandbox")));
        Assert.Equal("sandbox", route.Provider.Name);
        Assert.True(route.StandIn);
    }

    [Fact]
    public void ModelOptions_ReservedKeys_LeftOut()
    {
        var job = Derived(JobOperation.Edit, "b") with { Options = new Dictionary<string, string> { ["watermark"] = "true", ["reelay.operation"] = "edit" } };
        Assert.Equal(["watermark"], job.ModelOptions().Select(o => o.Key));
    }

    [Theory]
    [InlineData("viduq2-pro", JobOperation.Remix, "does not offer the remix operation")]
    [InlineData("kling-v2-6", JobOperation.Extend, "does not offer the extend operation")]
    public void Validate_OperationTheModelDoesNotList_UnsupportedModel(string model, JobOperation operation, string message)
    {
        var request = new JobRequest { Model = model, Prompt = "p", Operation = operation, Owner = "k" };
        var error = Assert.Throws<ReelayException>(() => ModelCatalog.Load().Validate(request, null));
        Assert.Equal(ErrorCodes.UnsupportedModel, error.Error.Code);
        Assert.Contains(message, error.Error.Message, StringComparison.Ordinal);
        Assert.Contains("sandbox", error.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ClientSendsAReservedOption_Refused()
    {
        var request = new JobRequest { Model = "sandbox", Prompt = "p", Owner = "k", Options = new Dictionary<string, string> { ["reelay.operation"] = "remix" } };
        var error = Assert.Throws<ReelayException>(() => ModelCatalog.Load().Validate(request, null));
        Assert.Equal(ErrorCodes.InvalidRequest, error.Error.Code);
    }

    [Fact]
    public async Task CharacterStore_OtherOwnerOrLyingBytes_NotFoundOrImageInvalid()
    {
        using var temp = new TempDirectory();
        var store = new CharacterStore(new LocalResultStore(temp.File("results")), _clock);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0];

        var created = await store.CreateAsync("key_a", " Hero ", png, "video", CancellationToken.None);

        Assert.Equal("Hero", created.Name);
        Assert.Equal("image/png", created.MediaType);
        Assert.Equal(created, await store.FindAsync("key_a", created.Id, CancellationToken.None));
        Assert.Null(await store.FindAsync("key_b", created.Id, CancellationToken.None));
        Assert.Null(await store.FindAsync("key_a", "../" + created.Id, CancellationToken.None));
        var lying = await Assert.ThrowsAsync<ReelayException>(() => store.CreateAsync("key_a", "Liar", "GIF89a not really"u8.ToArray(), "video", CancellationToken.None));
        Assert.Equal(ErrorCodes.ImageInvalid, lying.Error.Code);
    }

    /// <summary>A fake provider that offers more operations than generate.</summary>
    private sealed class OperationsProvider(FakeProvider inner, IReadOnlyList<string> operations) : IVideoProvider
    {
        public string Name => inner.Name;

        public IReadOnlyList<string> Operations => operations;

        public string? CheckSupport(Job job, string upstreamModel) => inner.CheckSupport(job, upstreamModel);

        public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => inner.ProbeAsync(cancellationToken);

        public Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken) => inner.SubmitAsync(job, cancellationToken);

        public Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken) => inner.PollAsync(job, cancellationToken);

        public Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken) => inner.RecoverSubmitAsync(job, cancellationToken);

        public Task CancelAsync(ProviderJob job, CancellationToken cancellationToken) => inner.CancelAsync(job, cancellationToken);

        public Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken) => inner.DownloadAsync(job, result, destination, cancellationToken);

        public PollSchedule PollSchedule => inner.PollSchedule;

        public int MaxConcurrentJobs => inner.MaxConcurrentJobs;
    }
}
