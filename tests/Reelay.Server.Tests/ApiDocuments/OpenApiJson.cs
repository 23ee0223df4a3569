using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Reelay.Server.Tests.ApiDocuments;

/// <summary>
/// An OpenAPI 3.1 document as JSON, with what the tests need: its operations, and a JSON Schema (2020-12, evaluated by
/// JsonSchema.Net) for any response or request schema in it, its component references resolved as $defs.
/// </summary>
public sealed partial class OpenApiJson(JsonObject root)
{
    public JsonObject Root { get; } = root;

    public static OpenApiJson Parse(string json) => new(JsonNode.Parse(json)!.AsObject());

    public static async Task<OpenApiJson> FetchAsync(HttpClient http, string name)
    {
        using var response = await http.GetAsync($"/openapi/{name}.json");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"/openapi/{name}.json: {(int)response.StatusCode} {text}");
        return Parse(text);
    }

    public JsonObject Paths => Root["paths"]!.AsObject();

    public JsonObject Schemas => Root["components"]?["schemas"]?.AsObject() ?? [];

    /// <summary>Every (path, method) the document describes; methods upper-case.</summary>
    public IEnumerable<(string Path, string Method)> Operations() =>
        Paths.SelectMany(p => p.Value!.AsObject().Where(m => m.Key is "get" or "post" or "put" or "patch" or "delete" or "head").Select(m => (p.Key, m.Key.ToUpperInvariant())));

    public JsonObject Operation(string path, string method) =>
        Paths[path]?[method.ToLowerInvariant()]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"The document has no {method} {path}.");

    /// <summary>Follows a $ref to a component schema (once), or returns the schema itself.</summary>
    public JsonObject Resolve(JsonNode schema)
    {
        var obj = schema.AsObject();
        return obj["$ref"]?.GetValue<string>() is { } reference
            ? Schemas[reference["#/components/schemas/".Length..]]!.AsObject()
            : obj;
    }

    /// <summary>The JSON response schema of an operation for a status code (or the default response).</summary>
    public JsonNode ResponseSchema(string path, string method, int status)
    {
        var responses = Operation(path, method)["responses"]!.AsObject();
        var response = responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] ?? responses["default"]
            ?? throw new Xunit.Sdk.XunitException($"{method} {path} documents no {status} response (documented: {string.Join(", ", responses.Select(r => r.Key))}).");
        return response["content"]?["application/json"]?["schema"]
            ?? throw new Xunit.Sdk.XunitException($"{method} {path} {status} documents no application/json body.");
    }

    /// <summary>The media types an operation's response for <paramref name="status"/> may have.</summary>
    public IReadOnlyList<string> ResponseMediaTypes(string path, string method, int status) =>
        Operation(path, method)["responses"]![status.ToString(System.Globalization.CultureInfo.InvariantCulture)]?["content"]?.AsObject().Select(c => c.Key).ToList() ?? [];

    /// <summary>Builds a JSON Schema for <paramref name="schema"/>, with every component schema of the document as $defs.</summary>
    public JsonSchema JsonSchemaFor(JsonNode schema)
    {
        var wrapper = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = Schemas.DeepClone(),
            ["allOf"] = new JsonArray(schema.DeepClone()),
        };
        var text = ComponentRef().Replace(wrapper.ToJsonString(), "\"$ref\":\"#/$defs/");
        return JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri($"https://reelay.test/schemas/{Guid.NewGuid():N}"));
    }

    /// <summary>Evaluates <paramref name="instance"/> against <paramref name="schema"/>; the list of errors, empty when valid.</summary>
    public IReadOnlyList<string> Errors(JsonNode schema, JsonElement instance)
    {
        var results = JsonSchemaFor(schema).Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        return (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))
            .DefaultIfEmpty("invalid")
            .ToList();
    }

    /// <summary>Asserts that a live response body matches the documented schema of (path, method, status).</summary>
    public void AssertResponse(string path, string method, int status, JsonElement body)
    {
        var errors = Errors(ResponseSchema(path, method, status), body);
        Assert.True(errors.Count == 0, $"{method} {path} {status} does not match its document:\n{string.Join("\n", errors)}\nbody: {body}");
    }

    [GeneratedRegex("\"\\$ref\":\"#/components/schemas/")]
    private static partial Regex ComponentRef();
}
