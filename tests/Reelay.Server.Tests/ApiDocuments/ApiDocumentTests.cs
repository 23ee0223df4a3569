using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.ApiDocuments;

/// <summary>
/// The OpenAPI documents at /openapi/{name}.json and the Scalar UI at /docs: served without a key, read cleanly with
/// Microsoft.OpenApi's reader, describe every route of their API (and nothing else), can be turned off, and the OpenAI
/// document agrees with OpenAI's published one (a vendored excerpt, Fixtures/openai-videos.openapi.json).
/// </summary>
public sealed partial class ApiDocumentTests(ApiDocumentServer fixture) : IClassFixture<ApiDocumentServer>
{
    public static readonly TheoryData<string> Names = ["openai", "modelverse", "aimlapi", "sorarelay", "admin"];

    private HttpClient Anonymous() => new() { BaseAddress = fixture.Server.BaseAddress };

    [Theory]
    [MemberData(nameof(Names))]
    public async Task OpenApi_EveryDocumentWithoutKey_ReadsCleanlyWithMicrosoftOpenApi(string name)
    {
        using var http = Anonymous();
        using var response = await http.GetAsync($"/openapi/{name}.json");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var read = OpenApiDocument.Parse(text, "json", new OpenApiReaderSettings());
        Assert.NotNull(read.Document);
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0, string.Join("; ", read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic!.SpecificationVersion);
        Assert.NotEmpty(read.Document!.Paths);
        Assert.NotEmpty(read.Document.Components!.Schemas!);

        // Every response of every operation says what it is, and every JSON body has a schema.
        foreach (var (path, item) in read.Document.Paths)
        {
            foreach (var (method, operation) in item.Operations!)
            {
                Assert.NotEmpty(operation.Responses!);
                foreach (var (code, documented) in operation.Responses!)
                {
                    Assert.False(string.IsNullOrWhiteSpace(documented.Description), $"{method} {path} {code} has no description.");
                    if (documented.Content?.TryGetValue("application/json", out var media) == true)
                    {
                        Assert.NotNull(media.Schema);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("""{"id":"video_1","object":"video","model":"sora-2","progress":0,"created_at":1,"completed_at":null,"expires_at":null,"prompt":"p","size":"1280x720","seconds":"4","remixed_from_video_id":null,"error":null}""", "status")]
    [InlineData("""{"id":"video_1","object":"video","model":"sora-2","status":"done","progress":0,"created_at":1,"completed_at":null,"expires_at":null,"prompt":"p","size":"1280x720","seconds":"4","remixed_from_video_id":null,"error":null}""", "status")]
    [InlineData("""{"id":"video_1","object":"video","model":"sora-2","status":"queued","progress":"0","created_at":1,"completed_at":null,"expires_at":null,"prompt":"p","size":"1280x720","seconds":"4","remixed_from_video_id":null,"error":null}""", "progress")]
    public async Task Errors_BodyThatBreaksTheDocument_Reported(string body, string field)
    {
        // The validator the live tests rely on does fail: a missing field, a status outside the enum, a wrong type.
        var document = await fixture.DocumentAsync("openai");
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var errors = document.Errors(document.ResponseSchema("/v1/videos/{video_id}", "GET", 200), json.RootElement);
        Assert.Contains(errors, e => e.Contains(field, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenApi_UnknownDocument_NotFound()
    {
        using var http = Anonymous();
        using var response = await http.GetAsync("/openapi/nope.json");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Docs_Get_HtmlReferencesEveryDocumentAndServesItsScript()
    {
        using var http = Anonymous();
        using var response = await http.GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        foreach (var name in new[] { "openai", "modelverse", "aimlapi", "sorarelay", "admin" })
        {
            // Relative to the application's base path, so that the UI also works under a proxy's path prefix.
            Assert.Contains($"\"openapi/{name}.json\"", html, StringComparison.Ordinal);
        }

        // The UI's script comes from Reelay itself (embedded in Scalar.AspNetCore), not from a CDN.
        var script = ScriptSource().Match(html);
        Assert.True(script.Success, html);
        var source = script.Groups[1].Value;
        Assert.DoesNotContain("://", source, StringComparison.Ordinal);
        using var js = await http.GetAsync(new Uri(new Uri(fixture.Server.BaseAddress, "/docs/"), source));
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.True((await js.Content.ReadAsByteArrayAsync()).Length > 10_000);
    }

    [Fact]
    public async Task ApiDocuments_Disabled_NotServed()
    {
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:ApiDocuments:Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/openapi/openai.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/docs")).StatusCode);
    }

    [Fact]
    public async Task OpenApi_PublicBaseUrlSet_IsTheDocumentsServer()
    {
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:PublicBaseUrl"] = "https://video.example.test/reelay" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var document = await OpenApiJson.FetchAsync(http, "sorarelay");

        Assert.Equal("https://video.example.test/reelay", document.Root["servers"]![0]!["url"]!.GetValue<string>());
    }

    /// <summary>Which document describes a route; null for routes outside every document.</summary>
    private static string? DocumentOf(string path) => path switch
    {
        _ when path.StartsWith("/v1/videos", StringComparison.Ordinal) || path.StartsWith("/v1/webhooks/", StringComparison.Ordinal) || path == "/v1/models" => "openai",
        _ when path.StartsWith("/v1/tasks/", StringComparison.Ordinal) => "modelverse",
        _ when path.StartsWith("/v2/video/", StringComparison.Ordinal) => "aimlapi",
        _ when path.StartsWith("/v2/videos/", StringComparison.Ordinal) => "sorarelay",
        _ when path.StartsWith("/admin/", StringComparison.Ordinal) || path == "/v1/usage" => "admin",
        _ => null,
    };

    /// <summary>Routes under a document's prefix that it leaves out on purpose.</summary>
    private static readonly HashSet<string> Undocumented = [];

    [Fact]
    public async Task Documents_EveryMappedRoute_DescribedAndNothingElse()
    {
        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in ((IEndpointRouteBuilder)fixture.Server.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>())
        {
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                if (method != "HEAD")
                {
                    mapped.Add($"{method} {Placeholder().Replace(path, "{}")}");
                }
            }
        }

        var documented = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Names)
        {
            foreach (var (path, method) in (await fixture.DocumentAsync(name)).Operations())
            {
                var key = $"{method} {Placeholder().Replace(path, "{}")}";
                documented[key] = name;
                Assert.True(mapped.Contains(key), $"The {name} document describes {key}, which Reelay does not map.");
                Assert.Equal(name, DocumentOf(path));
            }
        }

        foreach (var route in mapped.Where(r => DocumentOf(r[(r.IndexOf(' ', StringComparison.Ordinal) + 1)..]) is not null && !Undocumented.Contains(r)))
        {
            Assert.True(documented.ContainsKey(route), $"{route} is mapped but no document describes it.");
        }
    }

    [GeneratedRegex("\\{[^}]+\\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex("<script[^>]*src=\"([^\"]+)\"")]
    private static partial Regex ScriptSource();
}
