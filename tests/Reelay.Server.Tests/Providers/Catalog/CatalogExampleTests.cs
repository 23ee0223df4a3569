using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Reelay.Emulators.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Catalog;

/// <summary>
/// docs/providers.md's worked example of "Adding a catalog model for an upstream", run as written: its catalog file and
/// its expected wire body are read from the page, and a job goes through a real gateway and the ModelVerse EMULATOR.
/// </summary>
public sealed class CatalogExampleTests
{
    [Fact]
    public async Task DocsExample_CatalogFileAndRoute_JobGoesOutAsThePageSaysAndCompletes()
    {
        var page = await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "docs", "providers.md"));
        var catalogFile = Path.Combine(Path.GetTempPath(), "reelay-docs-catalog-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(catalogFile, Block(page, "catalog"));
        try
        {
            await using var mv = new ModelVerseEmulator(CatalogUpstreamModelTests.Fast());
            await mv.StartAsync();
            await using var server = await ReelayTestServer.StartAsync(GatewayWithEmulators.Merge(
                GatewayWithEmulators.Instance("mv", "modelverse", mv),
                new() { ["Reelay:Catalog:Path"] = catalogFile, ["Reelay:Routes:hailuo-02:0:Provider"] = "mv" }));

            var id = await GatewayWithEmulators.CreateAsync(server, new { model = "hailuo-02", prompt = "a paper boat on a pond", seconds = "10" });
            var video = await GatewayWithEmulators.WaitAsync(server, id);

            Assert.Equal("completed", video.GetProperty("status").GetString());
            var sent = mv.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit").Body;
            Assert.Equal(JsonNode.Parse(Block(page, "wire"))!.ToJsonString(), JsonNode.Parse(sent)!.ToJsonString());

            using var refused = await server.Http.PostAsJsonAsync("/v1/videos", new { model = "hailuo-02", prompt = "a paper boat on a pond", seconds = "10", size = "1920x1080" });
            Assert.Equal(400, (int)refused.StatusCode);
            var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>();
            Assert.Contains("duration 10 s is not offered by model 'hailuo-02' at 1080p", error, StringComparison.Ordinal);
            Assert.Single(mv.Requests, r => r.PathAndQuery == "/v1/tasks/submit");
        }
        finally
        {
            File.Delete(catalogFile);
        }
    }

    /// <summary>The fenced block after "&lt;!-- example:NAME --&gt;".</summary>
    private static string Block(string page, string name)
    {
        var match = Regex.Match(page, $@"<!-- example:{name} -->\s*```json\s*\n(?<body>.*?)\n```", RegexOptions.Singleline);
        Assert.True(match.Success, $"docs/providers.md has no example:{name} block");
        return match.Groups["body"].Value;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Reelay.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Reelay.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
