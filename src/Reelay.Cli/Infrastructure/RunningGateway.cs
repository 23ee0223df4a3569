using Microsoft.Extensions.Configuration;

namespace Reelay.Cli.Infrastructure;

/// <summary>Finds the `reelay serve` that owns the configured data folder, for generate without --url.</summary>
internal static class RunningGateway
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// The address the gateway on the configured data folder (Reelay__DataDirectory, else appsettings.json's
    /// Reelay:DataDirectory, else "data") recorded, when it answers /healthz and there is a key to use it with; else null.
    /// Says on stderr why a running gateway is not used when the only thing missing is the key.
    /// </summary>
    public static async Task<Uri?> FindAsync(CliContext context, string? apiKey, CancellationToken cancellationToken)
    {
        var data = ConfiguredDataDirectory(context);
        string full;
        try
        {
            full = Path.GetFullPath(data);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }

        if (new GatewayAddressFile(full).Read() is not { } address || !await AnswersAsync(address, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (apiKey is null)
        {
            await context.Error.WriteLineAsync($"note: the gateway at {address} owns {full}; pass --key (or set {ConnectionOptions.ApiKeyVariable}) to use it. Using a private in-process gateway instead.").ConfigureAwait(false);
            return null;
        }

        return address;
    }

    internal static string ConfiguredDataDirectory(CliContext context)
    {
        var fromEnvironment = context.GetEnvironmentVariable("Reelay__DataDirectory");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }

        try
        {
            var file = new ConfigurationBuilder().SetBasePath(Directory.GetCurrentDirectory()).AddJsonFile("appsettings.json", optional: true).Build();
            var configured = file[$"{ReelayOptions.Section}:{nameof(ReelayOptions.DataDirectory)}"];
            return string.IsNullOrWhiteSpace(configured) ? new ReelayOptions().DataDirectory : configured;
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException)
        {
            return new ReelayOptions().DataDirectory;
        }
    }

    private static async Task<bool> AnswersAsync(Uri address, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(address, "healthz"), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
