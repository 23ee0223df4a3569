using Microsoft.AspNetCore.Builder;
using Reelay.Client;
using Spectre.Console;

namespace Reelay.Cli;

/// <summary>What commands need from their surroundings: output, environment and how to make a client. Tests substitute these.</summary>
internal sealed class CliContext
{
    private static readonly HttpClient SharedHttp = new() { Timeout = Timeout.InfiniteTimeSpan };

    private IAnsiConsole? _out;
    private IAnsiConsole? _error;

    public required TextWriter Output { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Whether <see cref="Output"/> is an interactive terminal (tables get its width, colours).</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Whether <see cref="Error"/> is an interactive terminal (a live progress bar instead of lines).</summary>
    public bool ErrorIsTerminal { get; init; }

    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    public Func<ReelayClientOptions, ReelayClient> CreateClient { get; init; } = options => new ReelayClient(SharedHttp, options);

    /// <summary>How often generate and demo poll the job.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Runs after the CLI's own settings when an in-process gateway is built (tests add fakes here).</summary>
    public Action<WebApplicationBuilder>? ConfigureEmbeddedGateway { get; init; }

    public IAnsiConsole OutConsole => _out ??= CreateConsole(Output, OutputIsTerminal);

    public IAnsiConsole ErrorConsole => _error ??= CreateConsole(Error, ErrorIsTerminal);

    public static CliContext FromConsole() => new()
    {
        Output = Console.Out,
        Error = Console.Error,
        OutputIsTerminal = !Console.IsOutputRedirected,
        ErrorIsTerminal = !Console.IsErrorRedirected,
    };

    private static IAnsiConsole CreateConsole(TextWriter writer, bool isTerminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isTerminal)
        {
            // Redirected output has no width; wide enough that ids and timestamps never wrap.
            console.Profile.Width = 160;
        }

        return console;
    }
}
