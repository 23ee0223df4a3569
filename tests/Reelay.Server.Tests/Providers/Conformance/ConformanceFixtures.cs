using Reelay.Emulators.AimlApi;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Emulators.SoraRelay;
using Reelay.Emulators.Vidu;
using Reelay.Providers;
using Reelay.Providers.AimlApi;
using Reelay.Providers.ModelVerse;
using Reelay.Providers.OpenAICompatible;
using Reelay.Providers.SoraRelay;
using Reelay.Providers.Vidu;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Conformance;

// One small fixture per provider type: its factory, its emulator and a job it accepts. The tests are in
// ProviderConformanceTests; what is particular to a provider's wire stays in its own folder.

public sealed class ModelVerseConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new ModelVerseProviderFactory();

    protected override string? WrongKeyAuthForm => "raw:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new ModelVerseEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, prompt: prompt));
}

public sealed class AimlApiConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new AimlApiProviderFactory();

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new AimlApiEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 720, 1280, prompt: prompt));
}

public sealed class SoraRelayConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new SoraRelayProviderFactory();

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new SoraRelayEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, prompt: prompt));
}

public sealed class OpenAICompatibleConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new OpenAICompatibleProviderFactory();

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    // The content endpoint answers for the video itself: an expired video fails at the poll, not at a URL.
    protected override bool ExpiredResultFailsAtPoll => true;

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new OpenAICompatibleEmulator(options);

    protected override void Configure(ProviderInstanceOptions options) => options.BaseUrl = new Uri(Emulator.BaseUrl, "v1").AbsoluteUri;

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("sora-2", "sora-2", 720, 1280, prompt: prompt));
}

public sealed class ViduConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new ViduProviderFactory();

    protected override string? WrongKeyAuthForm => "Token:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new ViduEmulator(options);

    protected override async Task<ProviderJob> JobAsync(string prompt) =>
        AdapterUnderTest.Job("viduq2-pro", "viduq2-pro", 960, 720, 5, await TestFiles.ImageAsync(640, 480), prompt, resolution: "720p");
}
