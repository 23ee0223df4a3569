using System.Globalization;

namespace Reelay.Accounts;

/// <summary>
/// Amounts are whole micro-USD (1 USD = 1,000,000) in <see cref="long"/>s, so sums, holds and settlements are exact
/// integer arithmetic: nothing is lost or invented by rounding between hold and settle.
/// </summary>
public static class Money
{
    /// <summary>Micro-USD per USD.</summary>
    public const long MicrosPerUsd = 1_000_000;

    /// <summary>Whether <paramref name="usd"/> is a whole number of micro-USD (at most six decimal places).</summary>
    public static bool IsWholeMicros(decimal usd) => usd * MicrosPerUsd == decimal.Truncate(usd * MicrosPerUsd);

    /// <summary>USD to micro-USD; more than six decimal places is an error.</summary>
    public static long ToMicros(decimal usd)
    {
        if (!IsWholeMicros(usd))
        {
            throw new ArgumentException($"{usd.ToString(CultureInfo.InvariantCulture)} USD has more than six decimal places.", nameof(usd));
        }

        return decimal.ToInt64(usd * MicrosPerUsd);
    }

    /// <summary>Micro-USD to USD.</summary>
    public static decimal ToUsd(long micros) => (decimal)micros / MicrosPerUsd;

    /// <summary>"$1.234500" style, for tables and messages.</summary>
    public static string Format(long micros) => (micros < 0 ? "-$" : "$") + ToUsd(Math.Abs(micros)).ToString("0.00####", CultureInfo.InvariantCulture);
}
