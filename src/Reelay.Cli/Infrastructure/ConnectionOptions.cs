using System.CommandLine;
using Reelay.Client;

namespace Reelay.Cli.Infrastructure;

/// <summary>The --url and --key options of the client commands, and how their defaults come from the environment.</summary>
internal sealed class ConnectionOptions
{
    public const string UrlVariable = "REELAY_URL";
    public const string ApiKeyVariable = "REELAY_API_KEY";
    public const string AdminKeyVariable = "REELAY_ADMIN_KEY";

    private readonly CliContext _context;
    private readonly bool _preferAdminKey;

    /// <param name="context">The CLI's surroundings.</param>
    /// <param name="urlDescription">The --url help text.</param>
    /// <param name="preferAdminKey">For admin commands: the key defaults to REELAY_ADMIN_KEY before REELAY_API_KEY.</param>
    public ConnectionOptions(CliContext context, string urlDescription, bool preferAdminKey = false)
    {
        _context = context;
        _preferAdminKey = preferAdminKey;
        Url = new Option<string?>("--url") { Description = urlDescription, HelpName = "URL" };
        Url.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && TryParseUrl(value) is null)
            {
                result.AddError($"--url '{value}' is not an absolute http or https URL.");
            }
        });
        Key = new Option<string?>("--key")
        {
            Description = preferAdminKey
                ? $"Admin API key (default: ${AdminKeyVariable}, else ${ApiKeyVariable})."
                : $"API key (default: ${ApiKeyVariable}, else ${AdminKeyVariable}).",
            HelpName = "KEY",
        };
    }

    public Option<string?> Url { get; }

    public Option<string?> Key { get; }

    public void AddTo(Command command)
    {
        command.Add(Url);
        command.Add(Key);
    }

    /// <summary>The gateway address from --url or REELAY_URL, or null when neither is set.</summary>
    public Uri? ResolveUrlOrNull(ParseResult parseResult)
    {
        var explicitUrl = parseResult.GetValue(Url);
        if (explicitUrl is not null)
        {
            return TryParseUrl(explicitUrl)!;
        }

        var fromEnvironment = _context.GetEnvironmentVariable(UrlVariable);
        if (string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return null;
        }

        return TryParseUrl(fromEnvironment) ?? throw new UsageException($"{UrlVariable} '{fromEnvironment}' is not an absolute http or https URL.");
    }

    public string? ResolveKey(ParseResult parseResult) => ResolveKey(parseResult, _preferAdminKey);

    /// <summary>--key, else the environment's admin or client key, in the order <paramref name="preferAdminKey"/> says.</summary>
    public string? ResolveKey(ParseResult parseResult, bool preferAdminKey) =>
        NonEmpty(parseResult.GetValue(Key))
        ?? NonEmpty(_context.GetEnvironmentVariable(preferAdminKey ? AdminKeyVariable : ApiKeyVariable))
        ?? NonEmpty(_context.GetEnvironmentVariable(preferAdminKey ? ApiKeyVariable : AdminKeyVariable));

    /// <summary>A client for --url / REELAY_URL, else the default local address.</summary>
    public ReelayClient CreateClient(ParseResult parseResult) =>
        CreateClient(ResolveUrlOrNull(parseResult) ?? ReelayClientOptions.DefaultBaseAddress, ResolveKey(parseResult));

    public ReelayClient CreateClient(Uri baseAddress, string? apiKey) =>
        _context.CreateClient(new ReelayClientOptions { BaseAddress = baseAddress, ApiKey = apiKey });

    private static Uri? TryParseUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
