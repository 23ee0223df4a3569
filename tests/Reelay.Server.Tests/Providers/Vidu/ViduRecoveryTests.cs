using Reelay.Emulators.Kernel;
using Reelay.Emulators.Vidu;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Vidu;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Vidu;

/// <summary>Looking up a submit that a crash interrupted, by its client reference (Vidu's payload), against the Vidu EMULATOR.</summary>
public sealed class ViduRecoveryTests : IAsyncLifetime
{
    private readonly ViduEmulator _emulator = new(new EmulatorOptions { ApiKey = "vda_secret_key_123456", RunTime = TimeSpan.FromSeconds(30) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new ViduProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(5));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    /// <summary>A job's first submit attempt, carrying its client reference as an engine would send it.</summary>
    private ProviderJob Attempt(string prompt = "the astronaut waves")
    {
        var job = AdapterUnderTest.Job("viduq2-pro", "viduq2-pro", 960, 720, 5, _image, prompt, new Dictionary<string, string>(), "720p");
        return new ProviderJob { Job = job.Job with { SubmitAttempts = 1 }, UpstreamModel = job.UpstreamModel, OpenFirstFrame = job.OpenFirstFrame, ClientReference = job.Job.ClientReference(1) };
    }

    /// <summary>The same job after a restart, with the call record the engine wrote before the request left at <paramref name="startedAt"/>.</summary>
    private static ProviderJob Interrupted(ProviderJob attempt, DateTimeOffset startedAt) => new()
    {
        Job = attempt.Job with { SubmitCall = new SubmitCall(1, "upstream", attempt.UpstreamModel, attempt.ClientReference!, startedAt) },
        UpstreamModel = attempt.UpstreamModel,
        ClientReference = attempt.ClientReference,
    };

    [Fact]
    public async Task Submit_WithClientReference_SendsItAsPayload()
    {
        var attempt = Attempt();

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(attempt, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.PathAndQuery == "/ent/v2/img2video").Json;
        Assert.Equal($"reelay-{attempt.Job.Id}-1", body.GetProperty("payload").GetString());
    }

    [Fact]
    public async Task RecoverSubmit_TaskCarriesTheCallsReference_FoundAsThatTask()
    {
        var started = DateTimeOffset.UtcNow;
        var other = Attempt("another job");
        var attempt = Attempt();
        await _adapter.Provider.SubmitAsync(other, CancellationToken.None);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(attempt, CancellationToken.None));

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(attempt, started), CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found(accepted.UpstreamId), outcome);
        Assert.Contains(_emulator.Requests, r => r.Method == "GET" && r.PathAndQuery.StartsWith("/ent/v2/tasks?created_at.from=", StringComparison.Ordinal) && r.AuthorizationForm == "Token:ok");
    }

    [Fact]
    public async Task RecoverSubmit_CompleteListWithoutTheReference_NotFound()
    {
        await _adapter.Provider.SubmitAsync(Attempt("another job"), CancellationToken.None);
        var lost = Attempt();

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, DateTimeOffset.UtcNow), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.NotFound>(outcome);
        Assert.Equal(1, _emulator.Tasks.Count);
    }

    [Fact]
    public async Task RecoverSubmit_ReferenceOnALaterPage_FoundAfterPaging()
    {
        var started = DateTimeOffset.UtcNow;
        var attempt = Attempt();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(attempt, CancellationToken.None));
        for (var i = 0; i < ViduProvider.ListPageSize + 5; i++)
        {
            _emulator.Tasks.Add(new EmulatedTask
            {
                Id = "9" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
                Model = "viduq2-pro",
                Width = 960,
                Height = 720,
                Seconds = 5,
                CreatedAt = DateTimeOffset.UtcNow.AddSeconds(1),
                QueueTime = TimeSpan.Zero,
                RunTime = TimeSpan.FromMinutes(1),
                Extra = new Dictionary<string, string> { ["payload"] = "someone else's" },
            });
        }

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(attempt, started), CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found(accepted.UpstreamId), outcome);
        Assert.Equal(2, _emulator.Requests.Count(r => r.PathAndQuery.StartsWith("/ent/v2/tasks?", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("SERVER_ERROR")]
    [InlineData("MALFORMED_JSON")]
    public async Task RecoverSubmit_ListFails_Unknown(string fault)
    {
        var attempt = Attempt();
        await _adapter.Provider.SubmitAsync(attempt, CancellationToken.None);
        _emulator.Faults.Add(FaultScope.Poll, fault == "SERVER_ERROR" ? new Fault.ServerError(502) : new Fault.MalformedJson());

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(attempt, DateTimeOffset.UtcNow), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.Unknown>(outcome);
    }
}
