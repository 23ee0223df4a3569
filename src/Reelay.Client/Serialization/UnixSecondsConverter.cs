using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reelay.Client.Serialization;

/// <summary>Unix seconds on the wire, <see cref="DateTimeOffset"/> (UTC) in .NET.</summary>
public sealed class UnixSecondsConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc/>
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new JsonException("Expected a time in unix seconds.");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteNumberValue(value.ToUnixTimeSeconds());
    }
}

/// <summary>Unix seconds or null on the wire, <see cref="Nullable{DateTimeOffset}"/> (UTC) in .NET.</summary>
public sealed class NullableUnixSecondsConverter : JsonConverter<DateTimeOffset?>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null
        : reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds)
        : throw new JsonException("Expected a time in unix seconds, or null.");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } time)
        {
            writer.WriteNumberValue(time.ToUnixTimeSeconds());
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
