using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Server;

namespace Reelay.Bench.Support;

/// <summary>
/// The real Reelay gateway (<see cref="ReelayServer.Build"/>) in this process, on 127.0.0.1 with a run-time port, a
/// private data folder deleted on dispose, a random admin key and Warning-level logging.
/// </summary>
internal sealed class ReelayGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _data;

    private ReelayGateway(WebApplication app, TempDirectory data, string apiKey)
    {
        _app = app;
        _data = data;
        ApiKey = apiKey;
        BaseAddress = ReelayServer.BoundAddress(app)!;
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Uri BaseAddress { get; }

    /// <summary>The gateway's services (engine, scheduler, registry).</summary>
    public IServiceProvider Services => _app.Services;

    public string ApiKey { get; }

    /// <summary>A client authenticated with the admin key.</summary>
    public HttpClient Http { get; }

    /// <param name="settings">Extra configuration, e.g. Reelay:Sandbox:MaxConcurrentRenders.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="services">Replaces services after the gateway's own registrations (a benchmark's stand-in), when given.</param>
    public static async Task<ReelayGateway> StartAsync(IReadOnlyDictionary<string, string?>? settings, CancellationToken cancellationToken, Action<IServiceCollection>? services = null)
    {
        var data = TempDirectory.Create("reelay-bench-gateway-");
        try
        {
            var apiKey = "rk_bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var config = new Dictionary<string, string?>
            {
                ["Reelay:DataDirectory"] = Path.Combine(data.Path, "data"),
                ["Reelay:AdminKey"] = apiKey,
                ["Reelay:Sandbox:Preset"] = "ultrafast",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                config[key] = value;
            }

            // A caller may bring its own admin key (the status read sends one key to every target).
            apiKey = config["Reelay:AdminKey"] ?? apiKey;

            // The content root is the private folder, so no appsettings.json of the working directory leaks in.
            var app = ReelayServer.Build(
                ["--urls", "http://127.0.0.1:0", "--contentRoot", data.Path],
                builder =>
                {
                    builder.Configuration.AddInMemoryCollection(config);
                    services?.Invoke(builder.Services);
                });

            // The gateway greets the console when it is ready (how to call it); that is noise between benchmark lines.
            var console = Console.Out;
            Console.SetOut(TextWriter.Null);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            finally
            {
                Console.SetOut(console);
            }

            return new ReelayGateway(app, data, apiKey);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>POST /v1/videos with a JSON body; returns the new video's id, or throws with the response.</summary>
    public async Task<string> CreateVideoAsync(string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(new Uri("/v1/videos", UriKind.Relative), content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/videos answered {(int)response.StatusCode}: {body}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("id").GetString() ?? throw new InvalidOperationException("The created video has no id.");
    }

    /// <summary>Polls GET /v1/videos/{id} until its status is completed; throws when it failed or took longer than <paramref name="timeout"/>.</summary>
    public async Task WaitForCompletionAsync(string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var body = await Http.GetStringAsync(new Uri($"/v1/videos/{id}", UriKind.Relative), cancellationToken);
            using var document = JsonDocument.Parse(body);
            var status = document.RootElement.GetProperty("status").GetString();
            if (status == "completed")
            {
                return;
            }

            if (status == "failed" || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Video {id} did not complete (is ffmpeg installed? scripts/prereqs.sh run installs it): {body}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        finally
        {
            _data.Dispose();
        }
    }
}
