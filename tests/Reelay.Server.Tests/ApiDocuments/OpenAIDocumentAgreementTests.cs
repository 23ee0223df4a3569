using System.Text.Json;
using System.Text.Json.Nodes;

namespace Reelay.Server.Tests.ApiDocuments;

/// <summary>
/// Reelay's OpenAI document against OpenAI's own published one (Fixtures/openai-videos.openapi.json, an MIT-licensed
/// excerpt of github.com/openai/openai-openapi), operation by operation: the same paths (under /v1) and methods, the same
/// parameters (name, place, required), request bodies with the same media types and required fields, responses whose
/// required fields include OpenAI's, and every enum value OpenAI lists for status, size, seconds and model accepted.
/// </summary>
public sealed class OpenAIDocumentAgreementTests(ApiDocumentServer fixture) : IClassFixture<ApiDocumentServer>
{
    private static readonly Lazy<OpenApiJson> Published = new(() =>
        OpenApiJson.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ApiDocuments", "Fixtures", "openai-videos.openapi.json"))));

    public static readonly TheoryData<string, string> PublishedOperations = new()
    {
        { "/videos", "POST" }, { "/videos", "GET" }, { "/videos/{video_id}", "GET" }, { "/videos/{video_id}", "DELETE" }, { "/videos/{video_id}/content", "GET" },
        { "/videos/{video_id}/remix", "POST" }, { "/videos/edits", "POST" }, { "/videos/extensions", "POST" },
        { "/videos/characters", "POST" }, { "/videos/characters/{character_id}", "GET" },
    };

    [Fact]
    public void Fixture_PublishedExcerpt_HasExactlyTheOperationsReelayServes()
    {
        var operations = Published.Value.Operations().Select(o => (o.Path, o.Method)).ToHashSet();
        Assert.Equal(PublishedOperations.Count, operations.Count);
        foreach (var row in PublishedOperations)
        {
            Assert.Contains(((string)row[0], (string)row[1]), operations);
        }
    }

    [Theory]
    [MemberData(nameof(PublishedOperations))]
    public async Task Operation_AsPublishedByOpenAI_SameParametersBodiesAndResponses(string path, string method)
    {
        var ours = await fixture.DocumentAsync("openai");
        var theirs = Published.Value;
        var mine = ours.Operation("/v1" + path, method);
        var published = theirs.Operation(path, method);

        // Parameters: every published one, in the same place, required alike.
        var myParameters = (mine["parameters"]?.AsArray() ?? []).Select(p => p!.AsObject()).ToDictionary(p => p["name"]!.GetValue<string>(), StringComparer.Ordinal);
        foreach (var parameter in (published["parameters"]?.AsArray() ?? []).Select(p => p!.AsObject()))
        {
            var name = parameter["name"]!.GetValue<string>();
            Assert.True(myParameters.TryGetValue(name, out var my), $"{method} {path}: parameter {name} is missing.");
            Assert.Equal(parameter["in"]!.GetValue<string>(), my["in"]!.GetValue<string>());
            Assert.Equal(parameter["required"]?.GetValue<bool>() ?? false, my["required"]?.GetValue<bool>() ?? false);
            var publishedValues = EnumValues(theirs, parameter["schema"]!);
            Assert.All(publishedValues, v => Assert.Empty(ours.Errors(my["schema"]!, JsonSerializer.SerializeToElement(v))));
        }

        // Request body: the same media types, the same required fields, every published property known.
        if (published["requestBody"] is { } publishedBody)
        {
            var myContent = mine["requestBody"]!["content"]!.AsObject();
            foreach (var (media, value) in publishedBody["content"]!.AsObject())
            {
                Assert.True(myContent.ContainsKey(media), $"{method} {path}: request media type {media} is missing.");
                var theirSchema = theirs.Resolve(value!["schema"]!);
                var mySchema = ours.Resolve(myContent[media]!["schema"]!);
                Assert.Equal(Required(theirSchema), Required(mySchema));
                foreach (var (property, definition) in theirSchema["properties"]!.AsObject())
                {
                    Assert.True(mySchema["properties"]!.AsObject().ContainsKey(property), $"{method} {path} {media}: property {property} is missing.");

                    // Every value OpenAI enumerates (model, seconds, size) is one Reelay's schema accepts.
                    foreach (var allowed in EnumValues(theirs, definition!))
                    {
                        var errors = ours.Errors(mySchema["properties"]![property]!, JsonSerializer.SerializeToElement(allowed));
                        Assert.True(errors.Count == 0, $"{method} {path} {media}: {property} = {allowed} is refused by Reelay's schema: {string.Join("; ", errors)}");
                    }
                }
            }
        }

        // Responses: each published status with the same media types; JSON bodies require at least what OpenAI requires.
        foreach (var (status, response) in published["responses"]!.AsObject())
        {
            var my = mine["responses"]![status];
            Assert.True(my is not null, $"{method} {path}: response {status} is missing.");
            foreach (var (media, value) in response!["content"]?.AsObject() ?? [])
            {
                if (media == "application/json" && path.EndsWith("/content", StringComparison.Ordinal))
                {
                    // OpenAI lists a JSON string for content; Reelay serves only the bytes (video/mp4, image/webp).
                    continue;
                }

                Assert.True(my!["content"]?.AsObject().ContainsKey(media) == true, $"{method} {path} {status}: media type {media} is missing.");
                if (media != "application/json")
                {
                    continue;
                }

                var theirSchema = theirs.Resolve(value!["schema"]!);
                var mySchema = ours.Resolve(my["content"]![media]!["schema"]!);
                Assert.Subset(Required(mySchema), Required(theirSchema));
                foreach (var (property, definition) in theirSchema["properties"]!.AsObject())
                {
                    Assert.True(mySchema["properties"]!.AsObject().ContainsKey(property), $"{method} {path} {status}: property {property} is missing.");
                }
            }
        }
    }

    [Fact]
    public async Task VideoStatus_Enum_SameAsOpenAIs()
    {
        var ours = await fixture.DocumentAsync("openai");
        Assert.Equal(EnumValues(Published.Value, Published.Value.Schemas["VideoStatus"]!).Order(), EnumValues(ours, ours.Schemas["VideoStatus"]!).Order());
    }

    [Fact]
    public async Task ErrorEnvelope_RequiredFields_IncludeOpenAIs()
    {
        var ours = await fixture.DocumentAsync("openai");
        Assert.Subset(Required(ours.Schemas["ErrorResponse"]!.AsObject()), Required(Published.Value.Schemas["ErrorResponse"]!.AsObject()));
        Assert.Subset(Required(ours.Schemas["Error"]!.AsObject()), Required(Published.Value.Schemas["Error"]!.AsObject()));

        // And OpenAI's own example of the envelope validates against Reelay's schema.
        using var example = JsonDocument.Parse("""{"error":{"message":"Video not found","type":"invalid_request_error","param":null,"code":"not_found"}}""");
        Assert.Empty(ours.Errors(ours.Schemas["ErrorResponse"]!, example.RootElement));
    }

    [Fact]
    public async Task VideoResource_SizesAndSecondsReelayServesForSora_AcceptedByBothDocuments()
    {
        // What the catalog offers for sora-2 through this dialect is what OpenAI documents (Reelay's schema is wider
        // only for other models, e.g. the sandbox's any WxH).
        using var models = await fixture.Server.Http.GetAsync("/v1/models");
        using var body = JsonDocument.Parse(await models.Content.ReadAsStringAsync());
        var sora = body.RootElement.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "sora-2");
        var ours = await fixture.DocumentAsync("openai");
        foreach (var size in sora.GetProperty("sizes").EnumerateArray())
        {
            Assert.Empty(ours.Errors(ours.Schemas["VideoSize"]!, size));
            Assert.Empty(Published.Value.Errors(Published.Value.Schemas["VideoSize"]!, size));
        }
    }

    private static SortedSet<string> Required(JsonObject schema) =>
        new((schema["required"]?.AsArray() ?? []).Select(r => r!.GetValue<string>()), StringComparer.Ordinal);

    /// <summary>The enum values a schema lists, through $ref, anyOf and oneOf.</summary>
    private static List<string> EnumValues(OpenApiJson document, JsonNode schema)
    {
        var values = new List<string>();
        var resolved = document.Resolve(schema);
        if (resolved["enum"] is JsonArray list)
        {
            values.AddRange(list.Select(v => v!.GetValue<string>()));
        }

        foreach (var key in new[] { "anyOf", "oneOf" })
        {
            foreach (var branch in resolved[key]?.AsArray() ?? [])
            {
                values.AddRange(EnumValues(document, branch!));
            }
        }

        return values;
    }
}
