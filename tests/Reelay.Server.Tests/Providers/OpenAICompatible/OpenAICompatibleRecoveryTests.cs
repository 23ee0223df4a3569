using Reelay.Emulators.Kernel;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.OpenAICompatible;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.OpenAICompatible;

/// <summary>
/// Looking up a submit that a crash interrupted in the video list (a heuristic: model, size, seconds, prompt, time), against
/// the OpenAI Videos API EMULATOR.
/// </summary>
public sealed class OpenAICompatibleRecoveryTests : IAsyncLifetime
{
    private readonly OpenAICompatibleEmulator _emulator = new(new EmulatorOptions { ApiKey = "sk-openai-secret-123456", RunTime = TimeSpan.FromSeconds(30) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new OpenAICompatibleProviderFactory(), _emulator, o =>
        {
            o.BaseUrl = new Uri(_emulator.BaseUrl, "v1").AbsoluteUri;
            o.Timeout = TimeSpan.FromSeconds(5);
        });
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private static ProviderJob Sora(string prompt = "a lighthouse at dusk", int seconds = 4) =>
        AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, seconds, prompt: prompt);

    private static ProviderJob Interrupted(ProviderJob attempt, DateTimeOffset startedAt, params string[] claimed) => new()
    {
        Job = attempt.Job with { SubmitAttempts = 1, SubmitCall = new SubmitCall(1, "upstream", attempt.UpstreamModel, attempt.Job.ClientReference(1), startedAt) },
        UpstreamModel = attempt.UpstreamModel,
        ClientReference = attempt.Job.ClientReference(1),
        ClaimedUpstreamIds = claimed.ToHashSet(),
    };

    [Fact]
    public async Task RecoverSubmit_OneVideoMatchesModelSizeSecondsAndPrompt_FoundAsThatVideo()
    {
        var started = DateTimeOffset.UtcNow;
        await _adapter.Provider.SubmitAsync(Sora("another prompt"), CancellationToken.None);
        await _adapter.Provider.SubmitAsync(Sora(seconds: 8), CancellationToken.None);
        var lost = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(lost, CancellationToken.None));

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, started), CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found(accepted.UpstreamId), outcome);
        Assert.Contains(_emulator.Requests, r => r.Method == "GET" && r.PathAndQuery == "/v1/videos?order=desc&limit=100" && r.AuthorizationForm == "Bearer:ok");
    }

    [Fact]
    public async Task RecoverSubmit_CompleteListWithoutAMatch_NotFound()
    {
        await _adapter.Provider.SubmitAsync(Sora("another prompt"), CancellationToken.None);

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(Sora(), DateTimeOffset.UtcNow), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.NotFound>(outcome);
    }

    [Fact]
    public async Task RecoverSubmit_TwoVideosMatch_UnknownRatherThanAGuess()
    {
        var started = DateTimeOffset.UtcNow;
        var lost = Sora();
        await _adapter.Provider.SubmitAsync(Sora(), CancellationToken.None);
        await _adapter.Provider.SubmitAsync(lost, CancellationToken.None);

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, started), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.Unknown>(outcome);
    }

    [Fact]
    public async Task RecoverSubmit_TwoMatchButAnotherJobOwnsOne_FoundAsTheOther()
    {
        var started = DateTimeOffset.UtcNow;
        var owned = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(Sora(), CancellationToken.None));
        var lost = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(lost, CancellationToken.None));

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, started, owned.UpstreamId), CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found(accepted.UpstreamId), outcome);
    }

    [Fact]
    public async Task RecoverSubmit_MatchingVideoPredatesTheCall_NotAdopted()
    {
        await _adapter.Provider.SubmitAsync(Sora(), CancellationToken.None);

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(Sora(), DateTimeOffset.UtcNow + OpenAICompatibleProvider.ListClockSkew + TimeSpan.FromMinutes(1)), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.NotFound>(outcome);
    }

    [Fact]
    public async Task RecoverSubmit_MatchOnALaterPage_FoundAfterPaging()
    {
        var started = DateTimeOffset.UtcNow;
        var lost = Sora();
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(lost, CancellationToken.None));
        for (var i = 0; i < OpenAICompatibleProvider.ListPageSize + 5; i++)
        {
            _emulator.Tasks.Add(new EmulatedTask
            {
                Id = "video_later" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture),
                Model = "sora-2",
                Prompt = "later job " + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Width = 720,
                Height = 1280,
                Seconds = 4,
                CreatedAt = DateTimeOffset.UtcNow.AddSeconds(1),
                QueueTime = TimeSpan.Zero,
                RunTime = TimeSpan.FromMinutes(1),
            });
        }

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, started), CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found(accepted.UpstreamId), outcome);
        Assert.Contains(_emulator.Requests, r => r.PathAndQuery.StartsWith("/v1/videos?order=desc&limit=100&after=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RecoverSubmit_ListFails_Unknown()
    {
        var started = DateTimeOffset.UtcNow;
        var lost = Sora();
        await _adapter.Provider.SubmitAsync(lost, CancellationToken.None);
        _emulator.Faults.Add(FaultScope.Any, new Fault.ServerError(503));

        var outcome = await _adapter.Provider.RecoverSubmitAsync(Interrupted(lost, started), CancellationToken.None);

        Assert.IsType<RecoveryOutcome.Unknown>(outcome);
    }
}
