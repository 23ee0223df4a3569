using System.Diagnostics;

namespace Reelay.Server.Tests.Hosting;

/// <summary>Runs the real `reelay` executable (Reelay.Cli.dll) as its own process until it exits.</summary>
internal static class ReelayProcess
{
    public sealed record Exit(int Code, string Output, string Error)
    {
        /// <summary>The non-empty lines of stderr.</summary>
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static async Task<Exit> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 60)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Reelay.Cli.dll"));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["REELAY_ADMIN_KEY"] = "rk_test_" + Guid.NewGuid().ToString("N");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"reelay {string.Join(' ', psi.ArgumentList.Skip(1))} did not exit: {await output}{await error}");
        }

        return new Exit(process.ExitCode, await output, await error);
    }
}
