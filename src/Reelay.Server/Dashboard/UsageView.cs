using Reelay.Accounts;

namespace Reelay.Server.Dashboard;

/// <summary>The usage page: totals per key and model over a range, one row set per day for the charts, and the open charges.</summary>
public sealed record UsageView(
    DateTimeOffset Since,
    DateTimeOffset Until,
    IReadOnlyList<UsageRow> Totals,
    IReadOnlyList<UsageDay> Days,
    IReadOnlyList<ChargeRecord> Unresolved);

/// <summary>One day's usage rows.</summary>
public sealed record UsageDay(DateOnly Day, IReadOnlyList<UsageRow> Rows)
{
    public long SpentMicros => Rows.Sum(r => r.SpentMicros);

    public double Seconds => Rows.Sum(r => r.Seconds);
}

/// <summary>Draws a bar chart as inline SVG numbers: one bar per day, scaled to the tallest.</summary>
public static class Chart
{
    public const int Width = 640;
    public const int Height = 160;
    public const int Bottom = 20;

    public static IEnumerable<(int X, int W, int Y, int H, string Label, string Value)> Bars(IReadOnlyList<UsageDay> days, Func<UsageDay, double> value, Func<double, string> format)
    {
        if (days.Count == 0)
        {
            yield break;
        }

        var max = Math.Max(days.Max(value), 1e-9);
        var slot = Width / days.Count;
        for (var i = 0; i < days.Count; i++)
        {
            var v = value(days[i]);
            var h = (int)Math.Round((Height - Bottom - 10) * v / max);
            yield return (i * slot + 2, Math.Max(slot - 4, 1), Height - Bottom - h, h, days[i].Day.ToString("MM-dd", System.Globalization.CultureInfo.InvariantCulture), format(v));
        }
    }
}
