using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Reelay.Jobs;

namespace Reelay.Server.Dialects;

/// <summary>An uploaded file of a form: its field name, file name, declared type and bytes.</summary>
internal sealed record FormFile(string Name, string FileName, string? ContentType, byte[] Bytes);

/// <summary>
/// A form body read strictly: multipart/form-data or application/x-www-form-urlencoded, with every text value decoded as
/// UTF-8 that must be valid (never replaced by U+FFFD), in the order sent. A truncated multipart body, one whose
/// boundary differs from the Content-Type's, or a malformed part is an invalid_request naming the body, not an
/// IOException (which would be a 500).
/// </summary>
internal sealed class FormBody
{
    /// <summary>At most this many fields and files (as Reelay:Limits' form value count).</summary>
    public const int MaxParts = 256;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private FormBody(List<KeyValuePair<string, string>> fields, List<FormFile> files)
    {
        Fields = fields;
        Files = files;
    }

    /// <summary>The text fields, in the order sent (a name may repeat; the reader decides whether it may).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The uploaded files, in the order sent.</summary>
    public IReadOnlyList<FormFile> Files { get; }

    /// <summary>Every value sent for <paramref name="name"/>.</summary>
    public IReadOnlyList<string> Values(string name) => [.. Fields.Where(f => f.Key == name).Select(f => f.Value)];

    /// <summary>Reads the request's form. <paramref name="maxFileBytes"/> bounds each upload (image_invalid naming the field beyond it).</summary>
    public static async Task<FormBody> ReadAsync(HttpRequest request, long maxFileBytes, CancellationToken ct)
    {
        var limit = request.HttpContext.RequestServices.GetService<ReelayOptions>()?.Limits.MaxRequestBodyBytes ?? new LimitsOptions().MaxRequestBodyBytes;
        try
        {
            return MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
                ? await ReadMultipartAsync(request, type, limit, maxFileBytes, ct).ConfigureAwait(false)
                : await ReadUrlEncodedAsync(request, limit, ct).ConfigureAwait(false);
        }
        catch (BadHttpRequestException)
        {
            // Kestrel's own answer (413 for a body over the limit) is rendered by the dialect filter.
            throw;
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            throw ReelayException.Invalid("body", "The multipart body ended before its closing boundary, or its boundary does not match the one in the Content-Type; send the whole body, ending with --BOUNDARY--.");
        }
        catch (InvalidDataException ex)
        {
            throw ReelayException.Invalid("body", $"The multipart body could not be read: {ex.Message}");
        }
    }

    private static async Task<FormBody> ReadMultipartAsync(HttpRequest request, MediaTypeHeaderValue type, long limit, long maxFileBytes, CancellationToken ct)
    {
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 70)
        {
            throw ReelayException.Invalid("Content-Type", "multipart/form-data needs a boundary parameter of 1 to 70 characters, e.g. multipart/form-data; boundary=xyz.");
        }

        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limit };
        var fields = new List<KeyValuePair<string, string>>();
        var files = new List<FormFile>();
        while (await reader.ReadNextSectionAsync(ct).ConfigureAwait(false) is { } section)
        {
            if (fields.Count + files.Count >= MaxParts)
            {
                throw ReelayException.Invalid("body", $"The form has more than {MaxParts} parts.");
            }

            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
            {
                throw ReelayException.Invalid("body", "A part of the multipart body has no 'Content-Disposition: form-data; name=\"...\"' header.");
            }

            var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            CheckName(name);
            if (disposition.IsFileDisposition())
            {
                var bytes = await ReadPartAsync(section.Body, maxFileBytes, ct).ConfigureAwait(false)
                    ?? throw new ReelayException(ErrorCodes.ImageInvalid, $"'{name}' is larger than {maxFileBytes} bytes; at most {maxFileBytes} bytes are allowed.", name);
                var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                files.Add(new FormFile(name, fileName, section.ContentType, bytes));
            }
            else
            {
                var bytes = await ReadPartAsync(section.Body, limit, ct).ConfigureAwait(false)
                    ?? throw ReelayException.Invalid(name, $"'{name}' is longer than this gateway allows.");
                fields.Add(new(name, Decode(bytes, name)));
            }
        }

        return new FormBody(fields, files);
    }

    private static async Task<FormBody> ReadUrlEncodedAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        var body = await ReadPartAsync(request.Body, limit, ct).ConfigureAwait(false)
            ?? throw new ReelayException(ErrorCodes.PayloadTooLarge, $"The request body is larger than this gateway allows ({limit} bytes, Reelay:Limits:MaxRequestBodyBytes).", "body");
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var pair in Encoding.Latin1.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (fields.Count >= MaxParts)
            {
                throw ReelayException.Invalid("body", $"The form has more than {MaxParts} fields.");
            }

            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(Unescape(equals < 0 ? pair : pair[..equals], "body"), "body");
            CheckName(name);
            fields.Add(new(name, Decode(Unescape(equals < 0 ? "" : pair[(equals + 1)..], name), name)));
        }

        return new FormBody(fields, []);
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0)
        {
            throw ReelayException.Invalid("body", "A form field has an empty name.");
        }

        if (name.Contains('\uFFFD', StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw ReelayException.Invalid("body", "A form field's name is not valid UTF-8 text.");
        }
    }

    /// <summary>The part's bytes, or null when it is longer than <paramref name="max"/>.</summary>
    private static async Task<byte[]?> ReadPartAsync(Stream body, long max, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string Decode(byte[] bytes, string field)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw ReelayException.Invalid(field, $"'{field}' is not valid UTF-8 text; send form values in UTF-8.");
        }
    }

    /// <summary>application/x-www-form-urlencoded: '+' is a space and %XX a byte; anything else malformed is refused.</summary>
    private static byte[] Unescape(string text, string field)
    {
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '+')
            {
                bytes.Add((byte)' ');
            }
            else if (c == '%')
            {
                if (i + 2 >= text.Length || !Uri.IsHexDigit(text[i + 1]) || !Uri.IsHexDigit(text[i + 2]))
                {
                    throw ReelayException.Invalid(field, $"'{field}' has a malformed %-escape; encode bytes as %XX.");
                }

                bytes.Add((byte)((Uri.FromHex(text[i + 1]) << 4) | Uri.FromHex(text[i + 2])));
                i += 2;
            }
            else
            {
                bytes.Add((byte)c);
            }
        }

        return [.. bytes];
    }
}
