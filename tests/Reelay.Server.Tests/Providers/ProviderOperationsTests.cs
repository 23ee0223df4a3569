using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Catalog;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Providers.Http;

namespace Reelay.Server.Tests.Providers;

/// <summary>
/// Issue 15, item 5: which upstream type offers which operation is what the table in docs/api/openai.md ("Which
/// deployments can do what") says, for every provider factory the library ships; anything else is refused with
/// unsupported_model naming the operation (DerivedJobRoutingTests, VeoProviderTests, OpenAIVideoOperationsUpstreamTests).
/// </summary>
public sealed class ProviderOperationsTests
{
    /// <summary>The documented table, per provider type (the sandbox, a built-in instance, offers all five).</summary>
    private static readonly Dictionary<string, string[]> Documented = new(StringComparer.Ordinal)
    {
        ["openai"] = [JobOperations.Generate, JobOperations.Remix, JobOperations.Edit, JobOperations.Extend, JobOperations.Characters],
        ["veo"] = [JobOperations.Generate, JobOperations.Extend, JobOperations.Characters],
        ["modelverse"] = [JobOperations.Generate],
        ["aimlapi"] = [JobOperations.Generate],
        ["sora-relay"] = [JobOperations.Generate],
        ["vidu"] = [JobOperations.Generate],
        ["seedance"] = [JobOperations.Generate, JobOperations.Characters],
        ["kling"] = [JobOperations.Generate],
        ["fal"] = [JobOperations.Generate],
        ["dashscope"] = [JobOperations.Generate],
    };

    [Fact]
    public void Operations_EveryShippedProviderType_AsTheDocumentedTableSays()
    {
        var factories = typeof(IProviderFactory).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IProviderFactory).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IProviderFactory)Activator.CreateInstance(t)!)
            .ToList();
        Assert.Equal(Documented.Keys.Order(StringComparer.Ordinal), factories.Select(f => f.Type).Order(StringComparer.Ordinal));

        var temp = Path.Combine(Path.GetTempPath(), "reelay-operations-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var factory in factories)
            {
                var options = new ProviderInstanceOptions { Type = factory.Type, BaseUrl = "http://127.0.0.1:9/", ApiKey = "operations-test-key" };
                using var http = new UpstreamHttpClient("p", new Uri(options.BaseUrl), TimeSpan.FromSeconds(1), 0, TimeProvider.System);
                var services = new ProviderServices(http, new FirstFrames(new MediaTransforms(new FfmpegRunner()), temp), TimeProvider.System, NullLoggerFactory.Instance, ModelCatalog.Load());
                var provider = factory.Create("p", options, services);
                Assert.True(Documented[factory.Type].SequenceEqual(provider.Operations), $"{factory.Type} offers {string.Join(", ", provider.Operations)}; the table says {string.Join(", ", Documented[factory.Type])}.");
                (provider as IDisposable)?.Dispose();
            }
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }
}
