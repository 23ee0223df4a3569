using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reelay.Client.Serialization;

/// <summary>
/// Reads a string that servers sometimes write as a number or a list (<c>"4"</c>, <c>4</c>, <c>["a","b"]</c>), so a
/// small difference in a server's rendering does not break a client. Writes a plain string.
/// </summary>
internal sealed class FlexibleStringConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return reader.TryGetInt64(out var n)
                    ? n.ToString(CultureInfo.InvariantCulture)
                    : reader.GetDouble().ToString(CultureInfo.InvariantCulture);
            case JsonTokenType.True:
            case JsonTokenType.False:
                return reader.GetBoolean() ? "true" : "false";
            case JsonTokenType.StartArray:
                var parts = new StringBuilder();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var item = Read(ref reader, typeToConvert, options);
                    if (item is not null)
                    {
                        parts.Append(parts.Length > 0 ? ", " : "").Append(item);
                    }
                }

                return parts.ToString();
            default:
                using (var doc = JsonDocument.ParseValue(ref reader))
                {
                    return doc.RootElement.GetRawText();
                }
        }
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
