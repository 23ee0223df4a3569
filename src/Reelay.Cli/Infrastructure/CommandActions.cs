using System.CommandLine;
using Reelay.Client;

namespace Reelay.Cli.Infrastructure;

/// <summary>Runs a command's work and turns its failures into a message on stderr and an exit code.</summary>
internal static class CommandActions
{
    public static void SetHandler(this Command command, CliContext context, Func<ParseResult, CancellationToken, Task<int>> run) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await run(parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (UsageException ex)
            {
                await context.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return ReelayCli.ExitUsage;
            }
            catch (GatewayStartException ex)
            {
                await context.Error.WriteLineAsync(ex.Failure.Line).ConfigureAwait(false);
                return ex.Failure.ExitCode;
            }
            catch (ReelayApiException ex)
            {
                await context.Error.WriteLineAsync(Describe(ex)).ConfigureAwait(false);
                return ReelayCli.ExitFailure;
            }
            catch (HttpRequestException ex)
            {
                await context.Error.WriteLineAsync($"error: could not reach the gateway: {ex.Message}").ConfigureAwait(false);
                return ReelayCli.ExitFailure;
            }
            catch (Exception ex) when (ex is TimeoutException or CliFailureException)
            {
                await context.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return ReelayCli.ExitFailure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await context.Error.WriteLineAsync("interrupted").ConfigureAwait(false);
                return ReelayCli.ExitInterrupted;
            }
        });

    /// <summary>One line for stderr; the SDK already keeps the API key out of messages.</summary>
    public static string Describe(ReelayApiException ex)
    {
        var text = $"error: {ex.Message}";
        if (ex.Code is not null)
        {
            text += $" ({ex.Code})";
        }

        if (ex.StatusCode == 401)
        {
            text += Environment.NewLine + "hint: pass --key, or set REELAY_API_KEY.";
        }

        return text;
    }
}
