using System.Text.Json.Serialization;

namespace Reelay.Emulators.Kernel;

/// <summary>POST /_emulator/faults.</summary>
public sealed record FaultRequest(string? Scope, string? Fault, int? Times, int? RetryAfterSeconds, int? Status, int? DelayMs);

/// <summary>POST /_emulator/settings.</summary>
public sealed record SettingsRequest(bool? ModerateAtNinety, bool? ExpiredResultUrls, bool? RequireExactFirstFrameSize, int? LatencyMs, double? RunSeconds, int? SubmitReplyDelayMs = null);

/// <summary>A control endpoint's error.</summary>
public sealed record ControlError(string Error);

/// <summary>A control endpoint's success.</summary>
public sealed record ControlOk(string Status);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FaultRequest))]
[JsonSerializable(typeof(SettingsRequest))]
[JsonSerializable(typeof(ControlError))]
[JsonSerializable(typeof(ControlOk))]
internal sealed partial class EmulatorJsonContext : JsonSerializerContext;
