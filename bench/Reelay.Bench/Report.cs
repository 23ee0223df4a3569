using System.Globalization;

namespace Reelay.Bench;

/// <summary>What the benchmarks print. Lines starting with "RESULT |" are gathered by bench/run.sh into its summary.</summary>
internal static class Report
{
    public const string ResultPrefix = "RESULT |";

    public static void Heading(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"== {title} ==");
    }

    public static void Line(string text = "") => Console.WriteLine(text.Length == 0 ? "" : "   " + text);

    /// <summary>A table row: benchmark | measured | baseline | ratio | target | PASS, FAIL or INFO (no target).</summary>
    public static void Result(string benchmark, string measured, string baseline, double ratio, string target, bool? pass) =>
        Console.WriteLine($"{ResultPrefix} {benchmark} | {measured} | {baseline} | {Ratio(ratio)} | {target} | {(pass is null ? "INFO" : pass.Value ? "PASS" : "FAIL")}");

    public static void Skipped(string benchmark, string why) =>
        Console.WriteLine($"{ResultPrefix} {benchmark} | skipped: {why} | | | | SKIP");

    public static void Error(string benchmark, Exception ex)
    {
        Console.WriteLine($"   {benchmark} failed: {ex}");
        Console.WriteLine($"{ResultPrefix} {benchmark} | error: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")} | | | | ERROR");
    }

    public static string Ratio(double ratio) => double.IsFinite(ratio) ? ratio.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    public static string Count(double value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Ms(double milliseconds) => milliseconds.ToString(milliseconds < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture) + " ms";

    public static string Bytes(double bytes) => bytes.ToString("#,0", CultureInfo.InvariantCulture) + " B";

    public static string Pad(string text, int width) => text.PadRight(width);

    /// <summary>Nearest-rank percentile of an ascending array (p in 0-100).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Length);
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
