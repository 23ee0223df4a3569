using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Emulators;
using Reelay.Emulators.Kernel;

namespace Reelay.Cli.Commands;

/// <summary>
/// <c>reelay emulate &lt;provider&gt;</c>: runs an EMULATOR of an upstream API so users can test their integration (and
/// Reelay's routing) without keys or money. It is a simulation of the documented wire format, not the provider.
/// </summary>
internal static class EmulateCommand
{
    public const string Name = "emulate";

    public static Command Create(CliContext context)
    {
        var kind = new Argument<string>("provider") { Description = $"Which API to emulate: {string.Join(", ", Emulators.Emulators.Kinds)}." };
        var urls = new Option<string>("--urls") { Description = "Address to listen on (default: http://127.0.0.1:0, a free port).", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:0" };
        var key = new Option<string>("--key") { Description = "The API key the emulator accepts (default: emulator-key).", DefaultValueFactory = _ => "emulator-key" };
        var run = new Option<double>("--run-seconds") { Description = "How long each emulated task runs (default: 10).", DefaultValueFactory = _ => 10 };
        var command = new Command(Name, "Run an EMULATOR of an upstream video API on this machine (not the real service; no keys, no money).")
        {
            kind,
            urls,
            key,
            run,
        };
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(kind)!;
            var seconds = parseResult.GetValue(run);
            if (seconds is < 0 or > 3600)
            {
                throw new UsageException($"--run-seconds {seconds} is out of range; allowed: 0 to 3600.");
            }

            var options = new EmulatorOptions { ApiKey = parseResult.GetValue(key)!, RunTime = TimeSpan.FromSeconds(seconds) };
            await using var emulator = Emulators.Emulators.Create(name, options)
                ?? throw new UsageException($"'{name}' is not an emulated provider; allowed: {string.Join(", ", Emulators.Emulators.Kinds)}.");
            await emulator.StartAsync(parseResult.GetValue(urls)!, cancellationToken).ConfigureAwait(false);
            await context.Output.WriteLineAsync($"EMULATOR of the {emulator.Kind} API (a simulation, not the real service) is ready on {emulator.BaseUrl}").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"  accepted key: {options.ApiKey}").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"  misbehave on demand: POST {emulator.BaseUrl}_emulator/faults {{\"scope\":\"submit\",\"fault\":\"rate_limit\",\"times\":2,\"retry_after_seconds\":5}}").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"  switches:            POST {emulator.BaseUrl}_emulator/settings {{\"moderate_at_ninety\":true,\"expired_result_urls\":false,\"latency_ms\":0,\"run_seconds\":10}}").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"  point Reelay at it:  Reelay__Providers__emu__Type={emulator.Kind} Reelay__Providers__emu__BaseUrl={emulator.ApiBaseUrl} Reelay__Providers__emu__ApiKey={options.ApiKey}").ConfigureAwait(false);
            if (emulator is Reelay.Emulators.Fal.FalEmulator fal)
            {
                // Its webhooks (sent when Reelay__PublicBaseUrl is set) are signed with the emulator's own key.
                await context.Output.WriteLineAsync($"  webhook keys:        Reelay__Providers__emu__Callbacks__JwksUrl={fal.JwksUrl}").ConfigureAwait(false);
            }
            await context.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await context.Error.WriteLineAsync("emulator stopped").ConfigureAwait(false);
            }

            return ReelayCli.ExitOk;
        });
        return command;
    }
}
