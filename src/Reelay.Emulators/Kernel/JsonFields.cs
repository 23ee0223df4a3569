using System.Text.Json;

namespace Reelay.Emulators.Kernel;

/// <summary>Lenient field readers for the emulators' request parsing: a missing field or one of another type reads as null.</summary>
public static class JsonFields
{
    /// <summary>The string field <paramref name="name"/> of an object, or null.</summary>
    public static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The integer field <paramref name="name"/> of an object, or null.</summary>
    public static int? Int(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : null;
}
