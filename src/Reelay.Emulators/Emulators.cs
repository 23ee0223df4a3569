using Reelay.Emulators.AimlApi;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.SoraRelay;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Emulators.Vidu;

namespace Reelay.Emulators;

/// <summary>The emulators by provider type, for tests and `reelay emulate`.</summary>
public static class Emulators
{
    /// <summary>Provider types that have an emulator.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["modelverse", "aimlapi", "sora-relay", "openai", "vidu", "seedance", "kling", "veo", "fal", "dashscope"];

    /// <summary>A new, unstarted emulator of <paramref name="kind"/>, or null when there is none.</summary>
    public static UpstreamEmulator? Create(string kind, EmulatorOptions? options = null) => kind.ToUpperInvariant() switch
    {
        "MODELVERSE" => new ModelVerseEmulator(options),
        "AIMLAPI" => new AimlApiEmulator(options),
        "SORA-RELAY" => new SoraRelayEmulator(options),
        "OPENAI" => new OpenAICompatibleEmulator(options),
        "VIDU" => new ViduEmulator(options),
        "SEEDANCE" => new Seedance.SeedanceEmulator(options),
        "KLING" => new Kling.KlingEmulator(options),
        "VEO" => new Veo.VeoEmulator(options),
        "FAL" => new Fal.FalEmulator(options),
        "DASHSCOPE" => new DashScope.DashScopeEmulator(options),
        _ => null,
    };
}
