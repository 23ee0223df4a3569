using System.Globalization;
using Reelay.Accounts;
using Reelay.Jobs;

namespace Reelay.Server.Dashboard;

/// <summary>How the dashboard writes times, money and durations (invariant culture, UTC).</summary>
public static class Format
{
    public static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "";

    public static string Iso(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "";

    public static string Usd(long micros) => Money.Format(micros);

    public static string Seconds(double seconds) => seconds.ToString(seconds < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " s";

    /// <summary>How long the job ran, from acceptance to its end (or to now while it runs).</summary>
    public static string Elapsed(Job job, DateTimeOffset now)
    {
        var end = job.CompletedAt ?? (job.Status.IsTerminal() ? job.UpdatedAt : now);
        var span = end - job.CreatedAt;
        return span.TotalSeconds < 0 ? "" : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} min {span.Seconds} s" : Seconds(Math.Round(span.TotalSeconds, 1));
    }

    public static string Status(JobStatus status) => status.ToWire();

    /// <summary>A job's charge in words: "$0.40 held", "$0.32 settled"...</summary>
    public static string Charge(ChargeRecord? charge) => charge is null ? "" : charge.State switch
    {
        ChargeState.Held => $"{Usd(charge.HoldMicros)} held",
        ChargeState.Unresolved => $"{Usd(charge.HoldMicros)} unresolved",
        ChargeState.Released => "released",
        _ => Usd(charge.ChargedMicros),
    };
}
