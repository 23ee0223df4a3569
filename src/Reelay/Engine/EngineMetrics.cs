using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reelay.Engine;

/// <summary>
/// The engine's metrics (meter "Reelay.Engine"), for OpenTelemetry or dotnet-counters: how late polls are answered
/// relative to their schedule, per provider instance.
/// </summary>
public static class EngineMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Reelay.Engine";

    /// <summary>The poll lateness histogram's name.</summary>
    public const string PollLatenessName = "reelay.engine.poll.lateness";

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Histogram<double> PollLateness = Meter.CreateHistogram<double>(
        PollLatenessName,
        unit: "ms",
        description: "Time from a poll's scheduled due time until the provider answered it (timer delay, concurrency and rate-limit waits, and the upstream round trip).");

    /// <summary>Records one answered poll.</summary>
    public static void PollAnswered(string provider, double latenessMilliseconds) =>
        PollLateness.Record(latenessMilliseconds, new KeyValuePair<string, object?>("reelay.provider", provider));
}
