using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;
using Reelay.Testing;

namespace Reelay.Server.Tests.Cluster;

/// <summary>
/// Two gateways in this process on one private PostgreSQL (node ids a and b, their own data folders), with the ModelVerse
/// EMULATOR as the upstream: a <c>Prefer: wait</c> submit held by one node ends when the other node ends the job, and both
/// nodes use the same generated content URL key without any file being copied.
/// </summary>
public sealed class PreferWaitAcrossNodesTests
{
    [Fact]
    public async Task Submit_PreferWaitOnOneNodeJobEndedOnTheOther_AnswersTheEndedJobAtOnce()
    {
        await using var database = await PostgresTestCluster.CreateDatabaseAsync();
        await using var upstream = new ModelVerseEmulator(new EmulatorOptions { ApiKey = "mv-prefer-wait-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMinutes(5) });
        await upstream.StartAsync();
        var results = Directory.CreateTempSubdirectory("reelay-two-nodes-").FullName;
        var adminKey = "rk_test_" + Guid.NewGuid().ToString("N");
        Dictionary<string, string?> Settings(string node) => new()
        {
            ["Reelay:Store:Provider"] = "postgres",
            ["Reelay:Store:ConnectionString"] = database.ConnectionString,
            ["Reelay:Engine:NodeId"] = node,
            ["Reelay:Storage:LocalPath"] = results,
            ["Reelay:MaxPreferWait"] = "00:00:30",
            ["Reelay:Providers:mv:Type"] = "modelverse",
            ["Reelay:Providers:mv:BaseUrl"] = upstream.BaseUrl.AbsoluteUri,
            ["Reelay:Providers:mv:ApiKey"] = upstream.Options.ApiKey,
            ["Reelay:Providers:mv:PollInterval"] = "00:00:00.250",
            ["Reelay:Routes:sora-2:0:Provider"] = "mv",
        };

        try
        {
            await using var nodeA = await ReelayTestServer.StartAsync(Settings("a"), apiKey: adminKey);
            await using var nodeB = await ReelayTestServer.StartAsync(Settings("b"), apiKey: adminKey);

            // The generated content URL key is the same on both nodes (kept in the database), and no file holds it.
            var signed = nodeA.App.Services.GetRequiredService<ContentUrlSigner>().SignedPath("job_shared", ContentVariant.Video);
            var query = System.Web.HttpUtility.ParseQueryString(new Uri(new Uri("http://x"), signed).Query);
            Assert.True(nodeB.App.Services.GetRequiredService<ContentUrlSigner>().Verify("job_shared", "video", query["expires"], query["signature"]));
            Assert.False(File.Exists(Path.Combine(nodeA.DataDirectory, ContentUrlSigner.SecretFileName)));

            // A submit that waits up to 30 s through node a, which admits the job and works on it.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/videos")
            {
                Content = new StringContent("""{"model":"sora-2","prompt":"a wait across nodes","seconds":"4","size":"720x1280"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
            var waiting = nodeA.Http.SendAsync(request);

            // Once it runs upstream, node b ends it (a cancel stored by b; node a hears of it only through the database).
            string? id = null;
            var until = Stopwatch.StartNew();
            while (id is null)
            {
                Assert.True(until.Elapsed < TimeSpan.FromSeconds(20), "the job never reached the upstream");
                Assert.False(waiting.IsCompleted, "the wait ended before the job did");
                id = upstream.Tasks.Count > 0 ? await FindJobAsync(nodeB) : null;
                await Task.Delay(100);
            }

            var ended = Stopwatch.StartNew();
            using (var cancel = await nodeB.Http.PostAsync($"/v1/videos/{id}/cancel", null))
            {
                Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
            }

            using var response = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
            var answered = ended.Elapsed;
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(id, body.GetProperty("id").GetString());
            Assert.NotEqual("in_progress", body.GetProperty("status").GetString());
            Assert.NotEqual("queued", body.GetProperty("status").GetString());
            Assert.Equal("wait=30", string.Join(",", response.Headers.GetValues("Preference-Applied")));
            Assert.True(answered < TimeSpan.FromSeconds(5), $"the wait on node a answered {answered.TotalSeconds:0.0} s after node b ended the job");
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(results);
        }
    }

    /// <summary>The id of the one job, listed through <paramref name="node"/>.</summary>
    private static async Task<string?> FindJobAsync(ReelayTestServer node)
    {
        var list = await node.Http.GetFromJsonAsync<JsonElement>("/v1/videos");
        var data = list.GetProperty("data");
        return data.GetArrayLength() == 1 ? data[0].GetProperty("id").GetString() : null;
    }
}
