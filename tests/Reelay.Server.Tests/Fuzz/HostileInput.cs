using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Fuzz;

/// <summary>One gateway shared by a class of hostile-input tests (none of them creates a job).</summary>
public sealed class HostileServerFixture : IAsyncLifetime
{
    public ReelayTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Hostile request bodies by name, and a raw sender that keeps every byte as given.</summary>
internal static class HostileInput
{
    /// <summary>The UTF-8 of <paramref name="text"/>, with each "¤" replaced by the invalid UTF-8 bytes FF FE.</summary>
    public static byte[] Bytes(string text)
    {
        var parts = text.Split('¤');
        var bytes = new List<byte>();
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                bytes.AddRange([0xFF, 0xFE]);
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(parts[i]));
        }

        return [.. bytes];
    }

    /// <summary>A JSON object nested <paramref name="depth"/> levels deep under <paramref name="key"/>.</summary>
    public static string Nested(string key, int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth) is var inner ? $"{{\"{key}\":{inner}}}" : "";

    public static async Task<(int Status, JsonElement Body)> SendAsync(HttpClient http, HttpMethod method, string path, byte[] body, string? contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"{(int)response.StatusCode}: {text}");
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}
