using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Server;

namespace Reelay.Server.Tests.Support;

/// <summary>A real Reelay gateway on 127.0.0.1 with a run-time port, a private data folder and a random admin key.</summary>
public sealed class ReelayTestServer : IAsyncDisposable
{
    private readonly bool _ownsData;

    private ReelayTestServer(WebApplication app, string dataDirectory, string apiKey, bool ownsData)
    {
        App = app;
        DataDirectory = dataDirectory;
        ApiKey = apiKey;
        _ownsData = ownsData;
        BaseAddress = ReelayServer.BoundAddress(app)!;
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public WebApplication App { get; }

    public string DataDirectory { get; }

    public string ApiKey { get; }

    public Uri BaseAddress { get; }

    /// <summary>Starts a gateway with one setting and asserts that the start fails validation with a message containing <paramref name="message"/>.</summary>
    public static async Task AssertStartRefusedAsync(string key, string value, string message)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { [key] = value }));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>An HttpClient authenticated with the admin key.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// Starts a gateway. <paramref name="services"/> runs after every registration of the app, so what it adds replaces
    /// Reelay's own (e.g. a failing store).
    /// </summary>
    public static async Task<ReelayTestServer> StartAsync(Dictionary<string, string?>? settings = null, string? dataDirectory = null, string? apiKey = null, Action<IServiceCollection>? services = null)
    {
        var ownsData = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "reelay-server-" + Guid.NewGuid().ToString("N"));
        apiKey ??= "rk_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var config = new Dictionary<string, string?>
        {
            ["Reelay:DataDirectory"] = dataDirectory,
            ["Reelay:AdminKey"] = apiKey,
            ["Reelay:Sandbox:MaxConcurrentRenders"] = "2",
            ["Reelay:Sandbox:Preset"] = "ultrafast",
        };
        foreach (var (key, value) in settings ?? [])
        {
            config[key] = value;
        }

        var app = ReelayServer.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(config);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (services is not null)
            {
                // Container actions run when the app is built, after ReelayServer.Build's own registrations.
                builder.Host.ConfigureContainer<IServiceCollection>((_, collection) => services(collection));
            }
        });
        await app.StartAsync();
        return new ReelayTestServer(app, dataDirectory, apiKey, ownsData);
    }

    /// <summary>Stops the server as a shutdown would, leaving the data folder for a restart.</summary>
    public async Task StopAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }

        if (_ownsData)
        {
            TryDeleteDirectory(DataDirectory);
        }
    }

    public static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }
}
