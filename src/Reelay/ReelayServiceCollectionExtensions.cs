using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Catalog;
using Reelay.Cluster;
using Reelay.Engine;
using Reelay.Media;
using Reelay.Net;
using Reelay.Providers;
using Reelay.Providers.Sandbox;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Storage;
using Reelay.Storage.Sqlite;

namespace Reelay;

/// <summary>Registers Reelay's engine, store, result storage and providers.</summary>
public static class ReelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds Reelay from the "Reelay" configuration section: options (validated at start-up), the catalog, the store
    /// of Reelay:Store:Provider (SQLite or PostgreSQL), local result storage, the sandbox provider, the router, the scheduler and the engine.
    /// </summary>
    public static IServiceCollection AddReelay(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ReelayOptions>().Bind(configuration.GetSection(ReelayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReelayOptions>>(sp => new ReelayOptionsValidator(configuration, sp.GetServices<ReelaySettingsExtension>()));
        services.AddSingleton<IValidateOptions<ReelayOptions>, ProviderOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReelayOptions>>().Value);
        services.TryAddSingleton(TimeProvider.System);

        // One process owns a data folder. The lock is the first hosted service, so it is taken before any other one is
        // even constructed (they open the database and clean scratch folders), and the store asks for it too.
        // On PostgreSQL the database is shared by design, so the lock is shared too: it only keeps out a SQLite process.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return DataFolderLock.Acquire(options.DataPath, shared: options.Store.IsPostgres);
        });
        services.AddSingleton<IHostedService, DataFolderOwner>();

        services.AddSingleton(sp => ModelCatalog.Load(sp.GetRequiredService<ReelayOptions>().Catalog.Path));
        services.AddReelayConfiguredStore();
        services.AddReelayCluster(configuration);
        services.AddSingleton(sp => new PriceTable(sp.GetRequiredService<ModelCatalog>(), sp.GetRequiredService<ReelayOptions>().Pricing));
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<Admissions>();
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ProviderRegistry>();
            var local = registry.Providers.Where(p => p is Providers.Sandbox.SandboxProvider).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            return new Billing(sp.GetRequiredService<IAccountStore>(), sp.GetRequiredService<IJobStore>(), name => name is not null && local.Contains(name),
                sp.GetRequiredService<ReelayOptions>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Billing>>());
        });
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<Billing>());
        services.AddSingleton<IResultStore>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return options.Storage.Kind == StorageOptions.S3Kind
                ? new Results.S3.S3ResultStore(options.Storage.S3, sp.GetRequiredService<ILogger<Results.S3.S3ResultStore>>())
                : new LocalResultStore(options.Storage.LocalPath ?? Path.Combine(options.DataPath, "files"));
        });

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new FfmpegRunner(options.Sandbox.FfmpegPath, options.Sandbox.FfprobePath, sp.GetRequiredService<ILogger<FfmpegRunner>>(), options.Media);
        });
        services.AddSingleton<MediaProbe>();
        services.AddSingleton<MediaTransforms>();
        services.TryAddSingleton<IMediaInspector, FfmpegMediaInspector>(); // An embedder (or a benchmark) may bring its own.

        services.AddSingleton(sp => new AddressPolicy(sp.GetRequiredService<ReelayOptions>().Limits.AllowPrivateNetworks));
        services.AddSingleton<GuardedHttpClient>();
        services.AddSingleton<IImageDecodeCheck>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new FfmpegImageDecodeCheck(sp.GetRequiredService<FfmpegRunner>(), Path.Combine(options.DataPath, "tmp"), options.Media.ImageCheckTimeout);
        });
        services.AddSingleton<InputImageLoader>();

        services.AddSingleton(sp => new FirstFrames(sp.GetRequiredService<MediaTransforms>(), Path.Combine(sp.GetRequiredService<ReelayOptions>().DataPath, "tmp")));
        services.AddSingleton<IVideoProvider>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new SandboxProvider(options.Sandbox, options.DataPath, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SandboxProvider>>(), options.Media);
        });

        // One line per upstream provider type.
        AddProviderTypes(services);

        services.AddSingleton(sp => new ProviderRegistry(
            sp.GetRequiredService<ReelayOptions>(),
            sp.GetServices<IProviderFactory>(),
            sp.GetRequiredService<ModelCatalog>(),
            sp.GetRequiredService<FirstFrames>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<ReelayOptions>().Sandbox.Enabled ? sp.GetServices<IVideoProvider>() : []));
        services.AddSingleton<IJobRouter>(sp =>
        {
            var registry = sp.GetRequiredService<ProviderRegistry>();
            return new DeploymentRouter(registry.Providers, registry.Routes, sp.GetRequiredService<ReelayOptions>().Sandbox.StandInFor);
        });
        services.AddSingleton<IJobObserver, Diagnostics.JobTelemetryObserver>();
        services.AddSingleton<JobObservers>();
        services.AddSingleton<JobTransitions>();
        services.AddSingleton<JobScheduler>();
        services.AddSingleton<JobEngine>();
        services.AddHostedService<EngineHostedService>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<Billing>());
        // After the engine's hosted service, which initializes the store.
        services.AddHostedService<ResultSweeper>();
        return services;
    }

    /// <summary>Registers every upstream provider type's factory (one line each).</summary>
    private static void AddProviderTypes(IServiceCollection services)
    {
        services.AddSingleton<IProviderFactory, Providers.ModelVerse.ModelVerseProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.AimlApi.AimlApiProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.SoraRelay.SoraRelayProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.OpenAICompatible.OpenAICompatibleProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.Vidu.ViduProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.Seedance.SeedanceProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.Kling.KlingProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.Veo.VeoProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.Fal.FalProviderFactory>();
        services.AddSingleton<IProviderFactory, Providers.DashScope.DashScopeProviderFactory>();
    }
}
