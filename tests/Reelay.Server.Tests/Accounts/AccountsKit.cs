using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Accounts;

/// <summary>Keys made through the admin API, and one submit and one read per dialect (all on the sandbox).</summary>
internal static class AccountsKit
{
    public sealed record Key(string Id, string Secret, HttpClient Http) : IDisposable
    {
        public void Dispose() => Http.Dispose();
    }

    public static async Task<Key> CreateKeyAsync(ReelayTestServer server, object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/admin/keys", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, text);
        var json = JsonDocument.Parse(text).RootElement;
        var secret = json.GetProperty("key").GetString()!;
        return new Key(json.GetProperty("id").GetString()!, secret, ClientFor(server, secret));
    }

    public static HttpClient ClientFor(ReelayTestServer server, string secret)
    {
        var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The dialects: how to submit a 1-second sandbox job, read the job id from the answer, and read a job.</summary>
    public static readonly (string Name, string SubmitPath, string Body, Func<JsonElement, string> IdOf, Func<string, string> ReadPath)[] AllDialects =
    [
        ("openai", "/v1/videos", """{"model":"sandbox","prompt":"dialect openai","seconds":"1","size":"160x90"}""", b => b.GetProperty("id").GetString()!, id => $"/v1/videos/{id}"),
        ("modelverse", "/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"dialect modelverse"},"parameters":{"size":"160x90","duration":1}}""", b => b.GetProperty("output").GetProperty("task_id").GetString()!, id => $"/v1/tasks/status?task_id={id}"),
        ("aimlapi", "/v2/video/generations", """{"model":"sandbox","prompt":"dialect aimlapi","duration":1,"resolution":"720p"}""", b => b.GetProperty("id").GetString()!, id => $"/v2/video/generations?generation_id={id}"),
        ("sora-relay", "/v2/videos/generations", """{"model":"sandbox","prompt":"dialect relay","duration":"1","aspect_ratio":"16:9"}""", b => b.GetProperty("task_id").GetString()!, id => $"/v2/videos/generations/{id}"),
    ];

    public static async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = Json(json);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body, response);
    }

    public static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        var (status, body, response) = await SendAsync(http, HttpMethod.Get, path);
        response.Dispose();
        Assert.True(status == 200, $"GET {path}: {status} {body}");
        return body;
    }

    /// <summary>Waits until the OpenAI view of a job is completed or failed.</summary>
    public static async Task<JsonElement> WaitFinishedAsync(HttpClient http, string id, int seconds = 120)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var video = await GetJsonAsync(http, $"/v1/videos/{id}");
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                return video;
            }

            Assert.True(DateTime.UtcNow < until, $"{id} did not finish");
            await Task.Delay(50);
        }
    }
}
