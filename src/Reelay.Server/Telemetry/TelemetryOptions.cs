namespace Reelay.Server.Telemetry;

/// <summary>Metrics and traces (Reelay:Telemetry). Validated with the other settings at start-up.</summary>
public sealed class TelemetryOptions
{
    /// <summary>The protocols an OTLP exporter may speak.</summary>
    public static readonly IReadOnlyList<string> OtlpProtocols = ["grpc", "http/protobuf"];

    /// <summary>Serve Prometheus text at GET /metrics (default true).</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>
    /// Serve /metrics on this separate listener (e.g. http://0.0.0.0:9464) without auth, and only there; null (the default)
    /// serves it on the main listener, to admin keys only.
    /// </summary>
    public string? MetricsUrl { get; set; }

    /// <summary>
    /// Export metrics and traces over OTLP to this collector (e.g. http://otel-collector:4317). Null (the default) exports
    /// over OTLP only when the standard OTEL_EXPORTER_OTLP_ENDPOINT variable is set.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>grpc or http/protobuf; null uses OTEL_EXPORTER_OTLP_PROTOCOL, or grpc.</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary>Record spans (requests, upstream calls, job phases) when they are exported (default true).</summary>
    public bool Traces { get; set; } = true;

    /// <summary>The .NET runtime's metrics (GC, thread pool, exceptions) too (default true).</summary>
    public bool RuntimeMetrics { get; set; } = true;

    /// <summary>Every problem with the settings; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (MetricsUrl is not null)
        {
            if (!Uri.TryCreate(MetricsUrl, UriKind.Absolute, out var metrics) || metrics.Scheme != Uri.UriSchemeHttp || metrics.AbsolutePath != "/")
            {
                yield return $"Reelay:Telemetry:MetricsUrl must be an http address with a port and no path, e.g. http://127.0.0.1:9464 (got '{MetricsUrl}').";
            }
            else if (metrics.Port == 0)
            {
                yield return $"Reelay:Telemetry:MetricsUrl needs a fixed port, so that Prometheus can find it (got '{MetricsUrl}').";
            }
            else if (!Prometheus)
            {
                yield return "Reelay:Telemetry:MetricsUrl is set but Reelay:Telemetry:Prometheus is false: nothing would be served there.";
            }
        }

        if (OtlpEndpoint is not null && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var otlp) || otlp.Scheme is not ("http" or "https")))
        {
            yield return $"Reelay:Telemetry:OtlpEndpoint must be an http(s) address, e.g. http://otel-collector:4317 (got '{OtlpEndpoint}').";
        }

        if (OtlpProtocol is not null && !OtlpProtocols.Contains(OtlpProtocol, StringComparer.Ordinal))
        {
            yield return $"Reelay:Telemetry:OtlpProtocol must be one of {string.Join(", ", OtlpProtocols)} (got '{OtlpProtocol}').";
        }
    }
}

/// <summary>The console log (Reelay:Logging). Levels stay under the standard Logging section.</summary>
public sealed class LoggingOptions
{
    /// <summary>The formats of <see cref="Format"/>.</summary>
    public static readonly IReadOnlyList<string> Formats = ["text", "json"];

    /// <summary>text (one line per entry, UTC timestamps; the default) or json (one JSON object per line).</summary>
    public string Format { get; set; } = "text";

    /// <summary>One Information line per HTTP request (method, route, status, duration, key id, job id); default true.</summary>
    public bool Requests { get; set; } = true;

    /// <summary>
    /// Text format: how long a line may wait in memory to be written to stdout together with the next ones (default 100 ms,
    /// at most 10 s; zero writes each batch at once). See <see cref="BufferedLogWriter"/>.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = DefaultFlushInterval;

    /// <summary>The default of <see cref="FlushInterval"/>.</summary>
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest <see cref="FlushInterval"/>.</summary>
    public static readonly TimeSpan MaxFlushInterval = TimeSpan.FromSeconds(10);

    /// <summary>Every problem with the settings; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (!Formats.Contains(Format, StringComparer.OrdinalIgnoreCase))
        {
            yield return $"Reelay:Logging:Format must be text or json (got '{Format}').";
        }

        if (FlushInterval < TimeSpan.Zero || FlushInterval > MaxFlushInterval)
        {
            yield return $"Reelay:Logging:FlushInterval must be from 00:00:00 to 00:00:10 (got '{FlushInterval}').";
        }
    }
}
