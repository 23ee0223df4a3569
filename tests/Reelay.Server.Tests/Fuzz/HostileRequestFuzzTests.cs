using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;
using Xunit.Abstractions;

namespace Reelay.Server.Tests.Fuzz;

/// <summary>
/// "Hostile input is normal input": a few thousand mutated requests (fixed seed, so every run sends the same bytes) at every
/// submit and status endpoint of every dialect and at the admin key API. Not one may answer 5xx, and every 4xx body must be
/// JSON (the dialect's envelope). Jobs that a mutation leaves valid are cancelled at once, so nothing renders for long.
/// </summary>
public sealed class HostileRequestFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Seed = 20261130;
    private const int Requests = 2500;
    private const string Boundary = "fuzzboundary7MA4YWxkTrZu0gW";

    private ReelayTestServer _server = null!;
    private byte[] _png = [];
    private string _keyId = "";

    public async Task InitializeAsync()
    {
        _server = await ReelayTestServer.StartAsync(new() { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1" });
        _png = await TestFiles.ImageAsync(64, 48);
        using var created = await _server.Http.PostAsync("/admin/keys", new StringContent("""{"name":"fuzz target"}""", Encoding.UTF8, "application/json"));
        _keyId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>A request to mutate; <paramref name="Weight"/> is how often it is picked (image bodies cost an ffprobe run each, so less often).</summary>
    private sealed record Target(string Name, HttpMethod Method, string Path, string? ContentType, byte[] Body, Func<JsonElement, string?>? CreatedId = null, int Weight = 4);

    private List<Target> Targets() =>
    [
        new("openai json", HttpMethod.Post, "/v1/videos", "application/json",
            U8("""{"model":"sandbox","prompt":"fuzz","seconds":"1","size":"160x90","seed":7,"options":{"movement_amplitude":"small"},"metadata":{"k":"v"}}"""),
            b => b.GetProperty("id").GetString()),
        new("openai json image", HttpMethod.Post, "/v1/videos", "application/json",
            U8("""{"model":"sandbox","prompt":"fuzz","seconds":"1","size":"160x90","input_reference":{"image_url":"data:image/png;base64,""" + Convert.ToBase64String(_png) + "\"}}"),
            b => b.GetProperty("id").GetString(), Weight: 1),
        new("openai multipart", HttpMethod.Post, "/v1/videos", $"multipart/form-data; boundary={Boundary}", Multipart(), b => b.GetProperty("id").GetString(), Weight: 2),
        new("openai urlencoded", HttpMethod.Post, "/v1/videos", "application/x-www-form-urlencoded",
            U8("model=sandbox&prompt=fuzz%20it&seconds=1&size=160x90&metadata%5Bk%5D=v"), b => b.GetProperty("id").GetString(), Weight: 2),
        new("modelverse", HttpMethod.Post, "/v1/tasks/submit", "application/json",
            U8("""{"model":"sandbox","input":{"prompt":"fuzz"},"parameters":{"size":"160x90","duration":1,"seed":3,"bgm":false}}"""),
            b => b.GetProperty("output").GetProperty("task_id").GetString()),
        new("aimlapi", HttpMethod.Post, "/v2/video/generations", "application/json",
            U8("""{"model":"sandbox","prompt":"fuzz","duration":1,"resolution":"720p","aspect_ratio":"16:9"}"""),
            b => b.GetProperty("id").GetString()),
        new("sora relay", HttpMethod.Post, "/v2/videos/generations", "application/json",
            U8("""{"model":"sandbox","prompt":"fuzz","duration":"1","aspect_ratio":"16:9","images":[],"hd":false,"watermark":false}"""),
            b => b.GetProperty("task_id").GetString()),
        new("admin create key", HttpMethod.Post, "/admin/keys", "application/json",
            U8("""{"name":"fuzz","models":["sandbox"],"rate_limit_per_minute":10,"max_jobs_in_flight":2,"budget_usd":1.5,"expires_at":"2030-01-01T00:00:00Z"}""")),
        new("admin update key", HttpMethod.Patch, $"/admin/keys/{_keyId}", "application/json",
            U8("""{"name":"renamed","models":null,"budget_usd":2.25,"expires_at":1900000000}""")),
    ];

    private static readonly string[] StatusPaths =
    [
        "/v1/videos/{0}",
        "/v1/tasks/status?task_id={0}",
        "/v2/video/generations?generation_id={0}",
        "/v2/videos/generations/{0}",
    ];

    [Fact]
    public async Task Endpoints_ThousandsOfMutatedRequests_NoServerErrorAndEveryClientErrorIsJson()
    {
        var random = new Random(Seed);
        var targets = Targets();
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        var time = new SortedDictionary<string, TimeSpan>(StringComparer.Ordinal);
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < Requests; i++)
        {
            var sent = Array.Empty<byte>();
            var name = "status";
            var started = stopwatch.Elapsed;
            using var request = i % 5 == 4 ? StatusRequest(random) : SubmitRequest(random, targets, out sent, out name);
            var description = $"#{i} {request.Method} {Clip(request.RequestUri!.ToString(), 120)} [{request.Content?.Headers.ContentType}] body (base64): {Clip(Convert.ToBase64String(sent), 200)}";
            using var response = await _server.Http.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            time[name] = time.GetValueOrDefault(name) + (stopwatch.Elapsed - started);
            if (status >= 500)
            {
                failures.Add($"{status} for {description}: {Clip(Encoding.UTF8.GetString(body), 300)}");
            }
            else if (status >= 400 && !IsJson(body))
            {
                failures.Add($"{status} with a body that is not JSON for {description}: {Clip(Encoding.UTF8.GetString(body), 200)}");
            }
            else if (status is >= 200 and < 300 && request.Method == HttpMethod.Post && targets.FirstOrDefault(t => t.Path == request.RequestUri.OriginalString && t.CreatedId is not null) is { } target)
            {
                await CancelAsync(target, body);
            }
        }

        output.WriteLine($"{Requests} requests in {stopwatch.Elapsed.TotalSeconds:0.0} s; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}; time by target {string.Join(", ", time.Select(t => $"{t.Key}: {t.Value.TotalSeconds:0.0} s"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} requests failed ({string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}, {stopwatch.Elapsed.TotalSeconds:0.0} s):\n{string.Join("\n", failures.Take(25))}");
        Assert.True(statuses.Keys.Any(s => s is >= 400 and < 500), "the mutations produced no client errors at all: the fuzzer is not reaching the readers");
    }

    private async Task CancelAsync(Target target, byte[] body)
    {
        string? id;
        try
        {
            id = target.CreatedId!(JsonDocument.Parse(body).RootElement);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return;
        }

        if (id is not null)
        {
            using var cancel = await _server.Http.PostAsync($"/v1/videos/{Uri.EscapeDataString(id)}/cancel", null);
        }
    }

    private static HttpRequestMessage SubmitRequest(Random random, List<Target> targets, out byte[] sent, out string name)
    {
        var pick = random.Next(targets.Sum(t => t.Weight));
        var target = targets.First(t => (pick -= t.Weight) < 0);
        name = target.Name;
        var multipart = target.ContentType?.StartsWith("multipart/", StringComparison.Ordinal) == true;
        var body = target.Body;
        var contentType = target.ContentType;
        switch (random.Next(multipart ? 13 : 12))
        {
            case 0:
                body = body[..random.Next(body.Length)];
                break;
            case 1:
                body = Flip(random, body, 1 + random.Next(4));
                break;
            case 2:
                body = InsertIntoString(random, body, Pick<byte[]>(random, [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xC0, 0xAF], [0x00]]));
                break;
            case 3:
                body = InsertIntoString(random, body, U8(Pick(random, ["\\ud800", "\\udfff", "\\ud83d\\u0041", "\\ud83d", "\\u0000", "\\uZZZZ", "\\"])));
                break;
            case 4:
                var depth = Pick(random, [17, 64, 65, 1000, 5000]);
                var nest = random.Next(2) == 0
                    ? new string('[', depth) + new string(']', depth)
                    : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                body = ReplaceValue(random, body, U8(nest), multipart);
                break;
            case 5:
                var huge = string.Concat(Enumerable.Repeat(Pick(random, ["a", "é", "😀"]), Pick(random, [5_000, 100_000, 300_000])));
                body = ReplaceValue(random, body, U8(multipart ? huge : JsonSerializer.Serialize(huge)), multipart);
                break;
            case 6:
                body = DuplicateKey(random, body, multipart);
                break;
            case 7:
                body = ReplaceValue(random, body, U8(Pick(random, ["1", "-1", "true", "null", "[]", "{}", "\"\"", "\"x\"", "1e309", "-0", "0.5", "123456789012345678901234567890", "[\"a\",1]", "{\"image_url\":1}", "\"1280X720\"", "\"data:image/png;base64,!!!\""])), multipart);
                break;
            case 8:
                contentType = Pick<string?>(random, [null, "text/plain", "application/json; charset=iso-8859-1", "application/xml", "multipart/form-data", "multipart/form-data; boundary=", "application/x-www-form-urlencoded", "application/json; charset=utf-16", "*/*", "application/json; boundary=x"]);
                break;
            case 9:
                body = [];
                break;
            case 10:
                body = Pick<byte[]>(random, [U8("null"), U8("[]"), U8("\"just a string\""), U8("42"), U8("{}"), U8("{} {}"), U8("{\"a\":1}garbage"), [0xEF, 0xBB, 0xBF, .. U8("{}")], U8("{\"a\":1,}"), U8("{'a':1}"), U8("{\"a\" 1}")]);
                break;
            case 11:
                // Several mutations at once.
                body = Flip(random, InsertIntoString(random, DuplicateKey(random, body, multipart), U8("\\ud800")), 1);
                break;
            default:
                body = BadMultipart(random, body);
                break;
        }

        sent = body;
        var request = new HttpRequestMessage(target.Method, target.Path) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return request;
    }

    private static HttpRequestMessage StatusRequest(Random random)
    {
        var id = Pick(random,
        [
            "video_0123456789abcdef0123456789abcdef",
            "",
            "%FF%FE",
            "%ED%A0%80",
            "%C3%28",
            "%00",
            "..%2F..%2Fadmin",
            new string('a', 2000),
            "%F0%9F%98%80",
            "video_%22%7D%7B",
            "%25",
            "id%20with%20spaces",
            Uri.EscapeDataString("\"}{\"error\":1"),
        ]);
        var template = Pick(random, StatusPaths);

        // Kestrel itself refuses a NUL in the path (400 before any endpoint runs); in a query it reaches the dialect.
        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, template.Contains('?', StringComparison.Ordinal) ? id : id.Replace("%00", "%01", StringComparison.Ordinal));
        if (random.Next(4) == 0 && path.Contains('?', StringComparison.Ordinal))
        {
            path += "&" + path[(path.IndexOf('?', StringComparison.Ordinal) + 1)..];
        }

        if (path.EndsWith('/'))
        {
            path += "x";
        }

        return new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
    }

    private static byte[] Flip(Random random, byte[] body, int count)
    {
        if (body.Length == 0)
        {
            return body;
        }

        var copy = (byte[])body.Clone();
        for (var i = 0; i < count; i++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    /// <summary>Inserts bytes right after a quote (inside a JSON string or a multipart header), or anywhere.</summary>
    private static byte[] InsertIntoString(Random random, byte[] body, byte[] insert)
    {
        var quotes = Enumerable.Range(0, body.Length).Where(i => body[i] == (byte)'"').ToList();
        var at = quotes.Count > 0 ? quotes[random.Next(quotes.Count)] + 1 : random.Next(body.Length + 1);
        return [.. body.AsSpan(0, at), .. insert, .. body.AsSpan(at)];
    }

    /// <summary>Replaces a JSON value after a colon (or a multipart part's content) with <paramref name="value"/>.</summary>
    private static byte[] ReplaceValue(Random random, byte[] body, byte[] value, bool multipart)
    {
        var text = Encoding.Latin1.GetString(body);
        if (multipart)
        {
            var parts = Enumerable.Range(0, text.Length - 4).Where(i => text.AsSpan(i).StartsWith("\r\n\r\n")).ToList();
            if (parts.Count == 0)
            {
                return value;
            }

            var start = parts[random.Next(parts.Count)] + 4;
            var end = text.IndexOf("\r\n--", start, StringComparison.Ordinal);
            return [.. body.AsSpan(0, start), .. value, .. body.AsSpan(end < 0 ? body.Length : end)];
        }

        var colons = Enumerable.Range(0, text.Length).Where(i => text[i] == ':' && (i + 1 >= text.Length || text[i + 1] != '/')).ToList();
        if (colons.Count == 0)
        {
            return value;
        }

        var from = colons[random.Next(colons.Count)] + 1;
        var to = ValueEnd(text, from);
        return [.. body.AsSpan(0, from), .. value, .. body.AsSpan(to)];
    }

    private static int ValueEnd(string text, int from)
    {
        var depth = 0;
        var inString = false;
        for (var i = from; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                depth++;
            }
            else if (c is '}' or ']')
            {
                if (depth == 0)
                {
                    return i;
                }

                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                return i;
            }
        }

        return text.Length;
    }

    private static byte[] DuplicateKey(Random random, byte[] body, bool multipart)
    {
        var text = Encoding.Latin1.GetString(body);
        if (multipart)
        {
            var first = text.IndexOf("--" + Boundary + "\r\n", StringComparison.Ordinal);
            var second = first < 0 ? -1 : text.IndexOf("--" + Boundary, first + 2, StringComparison.Ordinal);
            return first < 0 || second < 0 ? body : [.. body.AsSpan(0, second), .. body.AsSpan(first, second - first), .. body.AsSpan(second)];
        }

        var open = text.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return body;
        }

        var keyEnd = ValueEnd(text, text.IndexOf(':', open) + 1);
        var member = text[(open + 1)..keyEnd];
        return random.Next(2) == 0
            ? Encoding.Latin1.GetBytes(text[..(open + 1)] + member + "," + text[(open + 1)..])
            : Encoding.Latin1.GetBytes(text[..(open + 1)] + EscapeFirst(member) + "," + text[(open + 1)..]);
    }

    /// <summary>The same key spelled differently: its first character as a \u escape ("model" as "\u006dodel").</summary>
    private static string EscapeFirst(string member)
    {
        var quote = member.IndexOf('"', StringComparison.Ordinal);
        return quote < 0 || quote + 1 >= member.Length
            ? member
            : member[..(quote + 1)] + "\\u" + ((int)member[quote + 1]).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) + member[(quote + 2)..];
    }

    private static byte[] BadMultipart(Random random, byte[] body)
    {
        var text = Encoding.Latin1.GetString(body);
        var closing = "--" + Boundary + "--";
        return Pick<byte[]>(random,
        [
            Encoding.Latin1.GetBytes(text.Replace(closing, "", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text.Replace(Boundary, "otherboundary", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text.Replace("\r\n", "\n", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text.Replace("Content-Disposition", "Content-Dispositio", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text.Replace("name=\"model\"", "name=\"mod\u00ffel\"", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text.Replace("form-data;", "attachment;", StringComparison.Ordinal)),
            Encoding.Latin1.GetBytes(text[..text.IndexOf(closing, StringComparison.Ordinal)] + "--" + Boundary + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nunterminated"),
            Encoding.Latin1.GetBytes(text.Replace("\r\n\r\n", "\r\n" + new string('X', 20_000) + ": y\r\n\r\n", StringComparison.Ordinal)),
            [.. U8("--" + Boundary + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"), 0xFF, 0xFE, .. U8("\r\n" + closing + "\r\n")],
        ]);
    }

    private byte[] Multipart()
    {
        var head = new StringBuilder();
        foreach (var (name, value) in new[] { ("model", "sandbox"), ("prompt", "fuzz"), ("seconds", "1"), ("size", "160x90"), ("metadata[k]", "v") })
        {
            head.Append("--" + Boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n");
        }

        head.Append("--" + Boundary + "\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"frame.png\"\r\nContent-Type: image/png\r\n\r\n");
        return [.. U8(head.ToString()), .. _png, .. U8($"\r\n--{Boundary}--\r\n")];
    }


    private static bool IsJson(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static byte[] U8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Clip(string text, int max) => text.Length > max ? text[..max] + "…" : text;
}
