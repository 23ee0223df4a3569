using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.ApiDocuments;

/// <summary>A gateway shared by the API document tests, with one finished sandbox job (64x64, 1 s) to read through every dialect.</summary>
public sealed class ApiDocumentServer : IAsyncLifetime
{
    public ReelayTestServer Server { get; private set; } = null!;

    public string CompletedJobId { get; private set; } = "";

    private readonly Dictionary<string, OpenApiJson> _documents = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        Server = await ReelayTestServer.StartAsync();
        CompletedJobId = await CreateAsync();
        await WaitForAsync(CompletedJobId, "completed");
    }

    public Task DisposeAsync() => Server.DisposeAsync().AsTask();

    /// <summary>A document fetched from the live server (once per run).</summary>
    public async Task<OpenApiJson> DocumentAsync(string name)
    {
        if (!_documents.TryGetValue(name, out var document))
        {
            using var anonymous = new HttpClient { BaseAddress = Server.BaseAddress };
            document = await OpenApiJson.FetchAsync(anonymous, name);
            _documents[name] = document;
        }

        return document;
    }

    /// <summary>Creates a sandbox job through the OpenAI dialect.</summary>
    public async Task<string> CreateAsync(string body = """{"model":"sandbox","prompt":"documents","seconds":"1","size":"64x64"}""")
    {
        using var created = await Server.Http.PostAsync("/v1/videos", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(created.IsSuccessStatusCode, json.ToString());
        return json.GetProperty("id").GetString()!;
    }

    public async Task WaitForAsync(string id, string status)
    {
        for (var i = 0; i < 600; i++)
        {
            var video = await Server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            var now = video.GetProperty("status").GetString();
            if (now == status)
            {
                return;
            }

            Assert.False(now is "completed" or "failed", $"{id} ended {now}, not {status}: {video}");
            await Task.Delay(100);
        }

        Assert.Fail($"{id} did not reach {status} in 60 s.");
    }
}
