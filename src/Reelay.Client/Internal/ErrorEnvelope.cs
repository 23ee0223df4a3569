using System.Text;
using System.Text.Json;

namespace Reelay.Client.Internal;

/// <summary>Turns an error response into a <see cref="ReelayApiException"/>, whatever its body looks like.</summary>
internal static class ErrorEnvelope
{
    private const int MaxSnippetChars = 300;
    private const string Redacted = "[redacted]";

    public static ReelayApiException ToException(int statusCode, string? reasonPhrase, string body, TimeSpan? retryAfter, string? apiKey)
    {
        string? message = null, type = null, code = null, param = null;
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.Object)
                    {
                        message = Text(error, "message");
                        type = Text(error, "type");
                        code = Text(error, "code");
                        param = Text(error, "param");
                    }
                    else if (error.ValueKind == JsonValueKind.String)
                    {
                        message = error.GetString();
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's HTML page, plain text): described below.
            }
        }

        var reason = string.IsNullOrWhiteSpace(reasonPhrase) ? "" : " " + reasonPhrase;
        if (string.IsNullOrWhiteSpace(message))
        {
            var snippet = Snippet(body);
            message = snippet.Length > 0
                ? $"The server answered HTTP {statusCode}{reason}: {snippet}"
                : $"The server answered HTTP {statusCode}{reason} with no error details.";
        }

        return new ReelayApiException(statusCode, Redact(message, apiKey), type, code, param is null ? null : Redact(param, apiKey), retryAfter);
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => value.GetRawText(),
            }
            : null;

    private static string Snippet(string body)
    {
        var text = new StringBuilder(Math.Min(body.Length, MaxSnippetChars));
        var space = false;
        foreach (var c in body)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = text.Length > 0;
                continue;
            }

            if (space)
            {
                text.Append(' ');
                space = false;
            }

            text.Append(c);
            if (text.Length >= MaxSnippetChars)
            {
                text.Append('…');
                break;
            }
        }

        return text.ToString();
    }

    private static string Redact(string text, string? apiKey) =>
        string.IsNullOrEmpty(apiKey) ? text : text.Replace(apiKey, Redacted, StringComparison.Ordinal);
}
