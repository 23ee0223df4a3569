using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Reelay.Jobs;

namespace Reelay.Server.Dialects;

/// <summary>What reading a JSON request body came to: a document every reader may use without care, or a refusal naming the field.</summary>
internal abstract record JsonBodyOutcome
{
    private JsonBodyOutcome()
    {
    }

    /// <summary>
    /// The body parsed: every string and key in it is valid UTF-16 (GetString cannot throw), no object has a key twice, and it
    /// nests at most <see cref="JsonBody.MaxDepth"/> levels. The caller disposes the document.
    /// </summary>
    public sealed record Parsed(JsonDocument Document) : JsonBodyOutcome;

    /// <summary>The body was refused; <paramref name="Field"/> is the JSON path of the fault ("body" for the whole).</summary>
    public sealed record Refused(string Field, string Message, string Code = ErrorCodes.InvalidRequest) : JsonBodyOutcome
    {
        public ReelayException ToException() => new(Code, Message, Field);
    }
}

/// <summary>
/// The one safe way a dialect (or the admin API) reads a JSON body. Hostile bytes are normal input: truncated or empty
/// bodies, invalid UTF-8, lone surrogate escapes (<c>"\ud800"</c>), duplicate keys, deep nesting and oversize bodies each
/// become a <see cref="JsonBodyOutcome.Refused"/> that names the JSON path at fault, never an exception from deep inside a
/// reader (which would be a 500).
/// </summary>
internal static class JsonBody
{
    /// <summary>How deep a request body may nest (no dialect needs more than 3 levels).</summary>
    public const int MaxDepth = 16;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth + 1, AllowDuplicateProperties = false };

    /// <summary>
    /// Checks that the request says it is JSON in UTF-8: <c>application/json</c> or <c>+json</c>, with no charset or
    /// charset=utf-8. Anything else is an invalid_request naming Content-Type.
    /// </summary>
    public static void RequireJsonContentType(HttpRequest request, string alternatives = "application/json")
    {
        if (!request.HasJsonContentType())
        {
            throw ReelayException.Invalid("Content-Type", request.ContentType is { Length: > 0 } given
                ? $"Content-Type '{Shown(given)}' is not supported; send {alternatives}."
                : $"The request has no Content-Type; send {alternatives}.");
        }

        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) && parsed.Charset.HasValue
            && !parsed.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !parsed.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw ReelayException.Invalid("Content-Type", $"charset '{Shown(parsed.Charset.Value ?? "")}' is not supported; JSON is sent in UTF-8 (charset=utf-8, or no charset).");
        }
    }

    /// <summary>Reads the whole body (at most Reelay:Limits:MaxRequestBodyBytes) and parses it as a JSON object.</summary>
    public static async Task<JsonBodyOutcome> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var limit = request.HttpContext.RequestServices.GetService<ReelayOptions>()?.Limits.MaxRequestBodyBytes ?? new LimitsOptions().MaxRequestBodyBytes;
        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and <= 1 << 20 ? (int)request.ContentLength.Value : 4096);
        while (true)
        {
            var memory = buffer.GetMemory(8192);
            var read = await request.Body.ReadAsync(memory, ct).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return new JsonBodyOutcome.Refused("body", $"The request body is larger than this gateway allows ({limit} bytes, Reelay:Limits:MaxRequestBodyBytes).", ErrorCodes.PayloadTooLarge);
            }
        }

        return Parse(buffer.WrittenMemory);
    }

    /// <summary>
    /// <see cref="ReadAsync"/>, then: a refusal is thrown as a <see cref="ReelayException"/>, and a body that is not a JSON
    /// object is refused with <paramref name="notAnObject"/> (given the kind found, e.g. "an array").
    /// </summary>
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, CancellationToken ct, Func<string, string>? notAnObject = null)
    {
        var outcome = await ReadAsync(request, ct).ConfigureAwait(false);
        return RequireObject(outcome, "body", notAnObject);
    }

    /// <summary>Parses <paramref name="utf8"/> as a JSON object whose paths start at <paramref name="root"/>, or throws.</summary>
    public static JsonDocument ParseObject(ReadOnlyMemory<byte> utf8, string root, Func<string, string>? notAnObject = null) =>
        RequireObject(Parse(utf8, root), root, notAnObject);

    private static JsonDocument RequireObject(JsonBodyOutcome outcome, string root, Func<string, string>? notAnObject)
    {
        switch (outcome)
        {
            case JsonBodyOutcome.Refused refused:
                throw refused.ToException();
            case JsonBodyOutcome.Parsed { Document: var document } when document.RootElement.ValueKind != JsonValueKind.Object:
                var kind = Kind(document.RootElement.ValueKind);
                document.Dispose();
                throw ReelayException.Invalid(root, notAnObject?.Invoke(kind) ?? (root == "body" ? $"The request body must be a JSON object (got {kind})." : $"'{root}' must be a JSON object (got {kind})."));
            case JsonBodyOutcome.Parsed parsed:
                return parsed.Document;
            default:
                throw new InvalidOperationException("Unknown outcome.");
        }
    }

    /// <summary>
    /// Parses <paramref name="utf8"/> (a leading UTF-8 byte order mark is skipped). <paramref name="root"/> is how the
    /// whole is named in a refusal, and the start of every path in it ("body": paths like <c>metadata.order</c>).
    /// </summary>
    public static JsonBodyOutcome Parse(ReadOnlyMemory<byte> utf8, string root = "body")
    {
        if (utf8.Span.StartsWith("\xEF\xBB\xBF"u8))
        {
            utf8 = utf8[3..];
        }

        if (utf8.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return new JsonBodyOutcome.Refused(root, root == "body" ? "The request body is empty; send a JSON object." : $"'{root}' is empty; send a JSON object.");
        }

        if (Check(utf8.Span, root) is { } refused)
        {
            return refused;
        }

        try
        {
            return new JsonBodyOutcome.Parsed(JsonDocument.Parse(utf8, DocumentOptions));
        }
        catch (JsonException ex)
        {
            // Unreachable after the walk above; kept so that no parser exception can ever escape as a 500.
            return new JsonBodyOutcome.Refused(root, $"The request body is not valid JSON: {ex.Message}");
        }
    }

    private sealed class Frame(string path, bool isArray)
    {
        public string Path { get; } = path;
        public bool IsArray { get; } = isArray;
        public int Index { get; set; }
        public string? PendingName { get; set; }
        public HashSet<string>? Names { get; set; }
    }

    /// <summary>Walks every token once: the first fault found is the answer.</summary>
    private static JsonBodyOutcome.Refused? Check(ReadOnlySpan<byte> utf8, string root)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        var stack = new Stack<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        var path = NextValuePath(stack, root);
                        if (stack.Count >= MaxDepth)
                        {
                            return new(path, $"'{path}' nests deeper than {MaxDepth} levels; request bodies of this API need far fewer.");
                        }

                        stack.Push(new Frame(path, reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        stack.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = stack.Peek();
                        string name;
                        try
                        {
                            name = reader.GetString()!;
                        }
                        catch (InvalidOperationException)
                        {
                            return new(frame.Path, $"A key in '{frame.Path}' is not valid text: it has invalid UTF-8 bytes or a lone surrogate escape (such as \\ud800).");
                        }

                        frame.Names ??= new HashSet<string>(StringComparer.Ordinal);
                        var child = Child(frame.Path, root, name);
                        if (!frame.Names.Add(name))
                        {
                            return new(child, $"'{child}' is given twice; send each field once (a duplicate would silently replace the first).");
                        }

                        frame.PendingName = name;
                        break;
                    case JsonTokenType.String:
                        var at = NextValuePath(stack, root);
                        try
                        {
                            _ = reader.GetString();
                        }
                        catch (InvalidOperationException)
                        {
                            return new(at, $"'{at}' is not valid text: it has invalid UTF-8 bytes or a lone surrogate escape (such as \\ud800); send UTF-8 and escape only whole surrogate pairs.");
                        }

                        break;
                    default:
                        _ = NextValuePath(stack, root);
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            // The innermost object or array the syntax broke in ("body" for the top level).
            var where = stack.Count == 0 ? root : stack.Peek().Path;
            return new(where, $"The request body is not valid JSON{(where == "body" ? "" : $" in '{where}'")}: {ex.Message}");
        }

        return null;
    }

    /// <summary>The path of the value that starts now, advancing the parent's position.</summary>
    private static string NextValuePath(Stack<Frame> stack, string root)
    {
        if (stack.Count == 0)
        {
            return root;
        }

        var parent = stack.Peek();
        if (parent.IsArray)
        {
            return $"{parent.Path}[{parent.Index++}]";
        }

        var name = parent.PendingName ?? "";
        parent.PendingName = null;
        return Child(parent.Path, root, name);
    }

    private static string Child(string parentPath, string root, string name)
    {
        var shown = name.Length > 64 ? name[..64] + "…" : name;
        return parentPath == root && root == "body" ? shown : $"{parentPath}.{shown}";
    }

    /// <summary>A JSON kind with its article, for messages ("a number", "an object", "null").</summary>
    internal static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private static string Shown(string text)
    {
        var printable = new StringBuilder(Math.Min(text.Length, 64));
        foreach (var c in text.Take(64))
        {
            printable.Append(c is < ' ' or > '~' ? '?' : c);
        }

        return text.Length > 64 ? printable + "…" : printable.ToString();
    }
}
