using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reelay.Server;

namespace Reelay.Cli.Infrastructure;

/// <summary>
/// A Reelay gateway inside the CLI process, on a free loopback port, for commands run without --url. The CLI
/// talks to it over HTTP through the SDK, exactly as it would to a remote gateway.
/// </summary>
internal sealed class EmbeddedGateway : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;

    private EmbeddedGateway(WebApplication app, Uri address, string apiKey)
    {
        _app = app;
        Address = address;
        ApiKey = apiKey;
    }

    /// <summary>The bound address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; }

    /// <summary>The admin key the gateway was started with.</summary>
    public string ApiKey { get; }

    /// <summary>The gateway's configuration (appsettings.json, Reelay__ variables and our overrides).</summary>
    public IConfiguration Configuration => _app.Configuration;

    /// <summary>
    /// Builds and starts the gateway on 127.0.0.1 with a port the OS picks, with an admin key for this run;
    /// <paramref name="dataDirectory"/> (if given) overrides Reelay:DataDirectory.
    /// </summary>
    public static async Task<EmbeddedGateway> StartAsync(CliContext context, string? dataDirectory, CancellationToken cancellationToken)
    {
        var adminKey = ChooseAdminKey(context);
        var app = ReelayServer.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            var settings = new Dictionary<string, string?>
            {
                [$"{ReelayOptions.Section}:{nameof(ReelayServerOptions.AdminKey)}"] = adminKey,

                // The CLI owns the terminal; the gateway speaks up only when something is wrong.
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            };
            if (dataDirectory is not null)
            {
                settings[$"{ReelayOptions.Section}:{nameof(ReelayOptions.DataDirectory)}"] = dataDirectory;
            }

            builder.Configuration.AddInMemoryCollection(settings);

            // Ctrl+C belongs to the CLI, which stops the gateway itself; the host must not react to it on its own.
            builder.Services.AddSingleton<IHostLifetime, CliHostLifetime>();
            StartupFailures.QuietHostStartFailure(builder);
            context.ConfigureEmbeddedGateway?.Invoke(builder);
        });

        try
        {
            // Settings and the data folder's lock first, so that a folder another process owns is one line, not a stack trace.
            ReelayServer.Preflight(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            StartupFailures.HostStarted(app);
            var address = ReelayServer.BoundAddress(app)
                ?? throw new CliFailureException("The embedded gateway started but reported no bound http address.");
            return new EmbeddedGateway(app, address, adminKey);
        }
        catch (Exception ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (ex is not OperationCanceledException && StartupFailures.Describe(ex, InUseHint) is { } failure)
            {
                throw new GatewayStartException(failure, ex);
            }

            throw;
        }
    }

    /// <summary>How to get past a data folder that another process owns, for commands that start an in-process gateway.</summary>
    internal const string InUseHint = "stop that process, use its gateway instead with --url URL (and --key), or give this command another folder with --data DIR";

    /// <summary>A key for one run: the operator's REELAY_ADMIN_KEY if set (the server may prefer it), else a random one.</summary>
    private static string ChooseAdminKey(CliContext context)
    {
        var configured = context.GetEnvironmentVariable(ConnectionOptions.AdminKeyVariable);
        return string.IsNullOrWhiteSpace(configured)
            ? "rl-cli-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))
            : configured;
    }

    public async ValueTask DisposeAsync()
    {
        using (var stopping = new CancellationTokenSource(StopTimeout))
        {
            try
            {
                await _app.StopAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Timed out stopping: disposing below tears down what is left.
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class CliHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
