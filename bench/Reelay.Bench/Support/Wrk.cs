using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Reelay.Bench.Support;

/// <summary>One wrk run's figures.</summary>
/// <param name="RequestsPerSecond">wrk's Requests/sec.</param>
/// <param name="Requests">Requests completed.</param>
/// <param name="LatencyAverage">wrk's average latency, as it prints it (e.g. "1.23ms").</param>
/// <param name="SocketErrors">Connect, read, write and timeout errors together.</param>
internal sealed record WrkResult(double RequestsPerSecond, long Requests, string LatencyAverage, long SocketErrors);

/// <summary>Runs wrk (https://github.com/wg/wrk) as a separate process and parses its summary.</summary>
internal static partial class Wrk
{
    public static string? Find() => Executables.Find("wrk");

    /// <summary>Runs wrk against <paramref name="url"/>. Throws when any response was not 2xx/3xx: such a run measures nothing useful.</summary>
    public static async Task<WrkResult> RunAsync(string wrk, Uri url, string? bearerToken, int threads, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(wrk)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add($"-t{threads}");
        start.ArgumentList.Add($"-c{connections}");
        start.ArgumentList.Add($"-d{(int)Math.Ceiling(duration.TotalSeconds)}s");
        start.ArgumentList.Add("--timeout");
        start.ArgumentList.Add("5s");
        if (bearerToken is not null)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"Authorization: Bearer {bearerToken}");
        }

        start.ArgumentList.Add(url.ToString());

        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0 || RequestsPerSecondPattern().Match(output) is not { Success: true } rps)
        {
            throw new InvalidOperationException($"wrk failed (exit code {process.ExitCode}): {output} {errors}".Trim());
        }

        if (Non2xxPattern().Match(output) is { Success: true } bad)
        {
            throw new InvalidOperationException($"wrk got {bad.Groups[1].Value} responses that were not 2xx or 3xx from {url}; the measurement is void.");
        }

        var socketErrors = SocketErrorsPattern().Match(output) is { Success: true } se
            ? Enumerable.Range(1, 4).Sum(g => long.Parse(se.Groups[g].Value, CultureInfo.InvariantCulture))
            : 0;
        return new WrkResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            RequestsPattern().Match(output) is { Success: true } r ? long.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            LatencyPattern().Match(output) is { Success: true } l ? l.Groups[1].Value : "?",
            socketErrors);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecondPattern();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsPattern();

    [GeneratedRegex(@"Latency\s+(\S+)")]
    private static partial Regex LatencyPattern();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xxPattern();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsPattern();
}
