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

/// <summary>Registers Reelay's engine, store, result storage and providers: one <c>AddReelay…</c> method per module.</summary>
public static class ReelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds Reelay from the "Reelay" configuration section: options (validated at start-up), the data folder's lock, the
    /// catalog, the store of Reelay:Store:Provider (SQLite or PostgreSQL), media tools, client URL fetching, the providers and the router, the engine, keys and
    /// money, and result storage. The order is the hosted services' start order: the data folder lock first, then the
    /// engine (which initializes the store), then billing and the result sweeper.
    /// </summary>
    public static IServiceCollection AddReelay(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddReelayOptions(configuration);
        services.AddReelayDataFolder();
        services.AddReelayCatalog();
        services.AddReelayConfiguredStore();
        services.AddReelayCluster(configuration);
        services.AddReelayMedia();
        services.AddReelayClientUrls();
        services.AddReelayProviders();
        services.AddReelayEngine();
        services.AddReelayAccounts();
        services.AddReelayResults();
        return services;
    }

    /// <summary>
    /// <see cref="ReelayOptions"/> bound from the Reelay section and validated at start (values, unknown keys, provider
    /// instances), and the clock (<see cref="TimeProvider.System"/> unless one was registered).
    /// </summary>
    public static IServiceCollection AddReelayOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReelayOptions>().Bind(configuration.GetSection(ReelayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReelayOptions>>(sp => new ReelayOptionsValidator(configuration, sp.GetServices<ReelaySettingsExtension>()));
        services.AddSingleton<IValidateOptions<ReelayOptions>, ProviderOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ReelayOptions>>().Value);
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// One process owns a data folder. The lock is the first hosted service, so it is taken before any other one is even
    /// constructed (they open the database and clean scratch folders), and the store asks for it too.
    /// </summary>
    public static IServiceCollection AddReelayDataFolder(this IServiceCollection services)
    {
        // On PostgreSQL the database is shared by design, so the lock is shared too: it only keeps out a SQLite process.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return DataFolderLock.Acquire(options.DataPath, shared: options.Store.IsPostgres);
        });
        services.AddSingleton<IHostedService, DataFolderOwner>();
        return services;
    }

    /// <summary>The model catalog (Reelay:Catalog:Path, or the shipped one).</summary>
    public static IServiceCollection AddReelayCatalog(this IServiceCollection services)
    {
        services.AddSingleton(sp => ModelCatalog.Load(sp.GetRequiredService<ReelayOptions>().Catalog.Path));
        return services;
    }

    /// <summary>ffmpeg and ffprobe behind their watchdog: probes, thumbnails and spritesheets, and the submit-time image check.</summary>
    public static IServiceCollection AddReelayMedia(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new FfmpegRunner(options.Sandbox.FfmpegPath, options.Sandbox.FfprobePath, sp.GetRequiredService<ILogger<FfmpegRunner>>(), options.Media);
        });
        services.AddSingleton<MediaProbe>();
        services.AddSingleton<MediaTransforms>();
        services.TryAddSingleton<IMediaInspector, FfmpegMediaInspector>(); // An embedder (or a benchmark) may bring its own.
        services.AddSingleton<IImageDecodeCheck>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return new FfmpegImageDecodeCheck(sp.GetRequiredService<FfmpegRunner>(), Path.Combine(options.DataPath, "tmp"), options.Media.ImageCheckTimeout);
        });
        return services;
    }

    /// <summary>Fetching the URLs clients give (first frames) through the guarded client, and loading input images.</summary>
    public static IServiceCollection AddReelayClientUrls(this IServiceCollection services)
    {
        services.AddSingleton(sp => new AddressPolicy(sp.GetRequiredService<ReelayOptions>().Limits.AllowPrivateNetworks));
        services.AddSingleton<GuardedHttpClient>();
        services.AddSingleton<InputImageLoader>();
        return services;
    }

    /// <summary>The sandbox provider, every upstream provider type, the configured instances (<see cref="ProviderRegistry"/>) and the router.</summary>
    public static IServiceCollection AddReelayProviders(this IServiceCollection services)
    {
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
            sp.GetRequiredService<ReelayOptions>().Sandbox.Enabled ? sp.GetServices<IVideoProvider>() : [],
            sp.GetRequiredService<Callbacks.CallbackUrls>(),
            sp.GetService<Cluster.IUpstreamRateLimits>()));
        // Without a host that knows the public address (the server sets it from Reelay:PublicBaseUrl), no callbacks.
        services.TryAddSingleton(sp => new Callbacks.CallbackUrls(sp.GetRequiredService<ReelayOptions>(), null, sp.GetService<Cluster.ISharedSecrets>()));
        services.AddSingleton<IJobRouter>(sp =>
        {
            var registry = sp.GetRequiredService<ProviderRegistry>();
            return new DeploymentRouter(registry.Providers, registry.Routes, sp.GetRequiredService<ReelayOptions>().Sandbox.StandInFor, sp.GetRequiredService<ProviderCircuits>());
        });
        services.AddSingleton(sp => new ProviderCircuits(
            sp.GetRequiredService<ReelayOptions>().Providers.Where(p => p.Value.Enabled).ToDictionary(p => p.Key, p => p.Value.Circuit ?? new CircuitOptions(), StringComparer.Ordinal),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ProviderCircuits>>()));
        return services;
    }

    /// <summary>
    /// The engine: the observers' fan-out and the single write path, the scheduler, <see cref="JobEngine"/>, and the hosted
    /// service that initializes the store and runs the scheduler.
    /// </summary>
    public static IServiceCollection AddReelayEngine(this IServiceCollection services)
    {
        services.AddSingleton<IJobObserver, Diagnostics.JobTelemetryObserver>();
        services.AddSingleton<JobObservers>();
        services.AddSingleton<JobTransitions>();
        services.AddSingleton<JobScheduler>();
        services.AddSingleton<JobEngine>();
        services.AddHostedService<EngineHostedService>();
        return services;
    }

    /// <summary>API keys, admission (limits, idempotency) and money: prices, holds, and <see cref="Billing"/>, which closes each job's hold when it ends.</summary>
    public static IServiceCollection AddReelayAccounts(this IServiceCollection services)
    {
        services.AddSingleton(sp => new PriceTable(sp.GetRequiredService<ModelCatalog>(), sp.GetRequiredService<ReelayOptions>().Pricing));
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<Admissions>();
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ProviderRegistry>();
            var local = registry.Providers.Where(p => p is SandboxProvider).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            return new Billing(sp.GetRequiredService<IAccountStore>(), sp.GetRequiredService<IJobStore>(), name => name is not null && local.Contains(name),
                sp.GetRequiredService<ReelayOptions>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Billing>>());
        });
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<Billing>());

        // After the engine's hosted service, which initializes the store.
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<Billing>());
        return services;
    }

    /// <summary>Result storage (local folder or S3, Reelay:Storage:Kind) and the retention sweeper (after the engine's start).</summary>
    public static IServiceCollection AddReelayResults(this IServiceCollection services)
    {
        services.AddSingleton<IResultStore>(sp =>
        {
            var options = sp.GetRequiredService<ReelayOptions>();
            return options.Storage.Kind == StorageOptions.S3Kind
                ? new Results.S3.S3ResultStore(options.Storage.S3, sp.GetRequiredService<ILogger<Results.S3.S3ResultStore>>())
                : new LocalResultStore(options.Storage.LocalPath ?? Path.Combine(options.DataPath, "files"));
        });
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
