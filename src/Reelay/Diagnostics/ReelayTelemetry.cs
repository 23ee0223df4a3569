using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Diagnostics;

/// <summary>
/// Reelay's own metrics (meter <see cref="MeterName"/>) and spans (activity source <see cref="SourceName"/>), with the
/// small helpers the engine, the webhook dispatcher, billing and the sandbox call (one line each). Nothing here depends on
/// OpenTelemetry: the server's telemetry set-up (or dotnet-counters, or a <see cref="MeterListener"/>) subscribes by name.
/// Without a listener a span start returns null and a measurement is dropped, so an unobserved process pays nearly nothing.
/// </summary>
/// <remarks>
/// The instruments are static (one set per process), like the framework's own meters: two gateways in one process (tests)
/// report into the same series. The names and labels are listed in docs/operations.md ("Metrics and traces").
/// </remarks>
public static class ReelayTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Reelay";

    /// <summary>The activity source's name.</summary>
    public const string SourceName = "Reelay";

    /// <summary>The provider instance label.</summary>
    public const string ProviderTag = "reelay.provider";

    /// <summary>The outcome label.</summary>
    public const string OutcomeTag = "reelay.outcome";

    /// <summary>The job state label.</summary>
    public const string StateTag = "reelay.state";

    /// <summary>The public model label.</summary>
    public const string ModelTag = "reelay.model";

    /// <summary>The job id attribute of spans.</summary>
    public const string JobIdTag = "reelay.job.id";

    /// <summary>The poll lateness histogram's name (it was "reelay.engine.poll.lateness" in milliseconds before the meter was folded into this one).</summary>
    public const string PollLatenessName = "reelay.poll.lateness";

    private static readonly string Version = typeof(ReelayTelemetry).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";

    /// <summary>The source of Reelay's spans: reelay.job.submit, reelay.job.poll, reelay.job.finalize, reelay.webhook.deliver.</summary>
    public static ActivitySource Source { get; } = new(SourceName, Version);

    private static readonly Meter Meter = new(MeterName, Version);

    private static readonly Counter<long> JobTransitions = Meter.CreateCounter<long>(
        "reelay.job.transitions", unit: "{job}", description: "Jobs entering a state (queued, submitting, running, succeeded, failed, cancelled), by model and provider instance.");

    private static readonly Counter<long> Submits = Meter.CreateCounter<long>(
        "reelay.submits", unit: "{submit}", description: "Upstream submit calls by provider instance and outcome (accepted, rejected, retry_later: a timeout, a transport error, a 429 or 5xx).");

    private static readonly Counter<long> Polls = Meter.CreateCounter<long>(
        "reelay.polls", unit: "{poll}", description: "Upstream status polls by provider instance and outcome (running, succeeded, failed, retry_later: a timeout, a transport error, a 429 or 5xx).");

    private static readonly Histogram<double> PollLateness = SecondsHistogram(
        PollLatenessName,
        "Time from a poll's scheduled due time until the provider answered it (timer delay, concurrency and rate-limit waits, and the upstream round trip).");

    private static readonly Histogram<double> UpstreamDuration = SecondsHistogram(
        "reelay.upstream.duration",
        "Duration of upstream provider calls (submit, poll) by provider instance, operation and outcome.");

    private static readonly Counter<long> WebhookDeliveries = Meter.CreateCounter<long>(
        "reelay.webhook.deliveries", unit: "{attempt}", description: "Webhook delivery attempts by outcome (delivered, retrying, dead, error).");

    private static readonly Counter<long> Renders = Meter.CreateCounter<long>(
        "reelay.sandbox.renders", unit: "{render}", description: "Sandbox (local ffmpeg) renders by outcome (succeeded, failed, cancelled).");

    private static readonly Counter<long> MoneyHeld = Meter.CreateCounter<long>(
        "reelay.money.held", unit: "{microdollar}", description: "Money put on hold at admission, in millionths of the price unit (USD).");

    private static readonly Counter<long> MoneySettled = Meter.CreateCounter<long>(
        "reelay.money.settled", unit: "{microdollar}", description: "Money charged when a hold settles, in millionths of the price unit (USD).");

    private static readonly Counter<long> CircuitTransitions = Meter.CreateCounter<long>(
        "reelay.provider.circuit.transitions", unit: "{transition}", description: "Provider circuit state changes by provider instance and the state entered (open, half_open, closed).");

    // The circuits of every gateway in the process (tests host several); weak, so a disposed gateway drops out.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Routing.ProviderCircuits, object?> Circuits = [];

    // Active (not terminal) jobs per (state, provider). Kept from the stored changes the observer hears, seeded from the
    // engine's recovery list at start.
    private static readonly ConcurrentDictionary<(JobStatus State, string Provider), long> Active = new();

    static ReelayTelemetry()
    {
        Meter.CreateObservableUpDownCounter("reelay.jobs.active", ObserveActive, unit: "{job}", description: "Jobs not yet finished, by state (queued, submitting, running) and provider instance.");
        Meter.CreateObservableUpDownCounter("reelay.queue.depth", () => ObserveSum(static s => s == JobStatus.Queued), unit: "{job}", description: "Jobs waiting for a provider slot (state queued), per provider instance.");
        Meter.CreateObservableGauge("reelay.provider.circuit.state", ObserveCircuits, unit: "{state}", description: "Each provider instance's circuit on this node: 0 closed, 1 open (skipped by routing), 2 half-open (one trial submit).");
        Meter.CreateObservableUpDownCounter("reelay.provider.in_flight", () => ObserveSum(static s => s is JobStatus.Submitting or JobStatus.Running), unit: "{job}", description: "Jobs holding a provider slot (submitting or running), per provider instance.");
    }

    /// <summary>A stored job change (an <see cref="Engine.IJobObserver"/> forwards every one): counts state entries and keeps the active-job gauges.</summary>
    public static void JobChanged(Job? previous, Job current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var wasActive = previous is not null && !previous.Status.IsTerminal() && previous.DeletedAt is null;
        var isActive = !current.Status.IsTerminal() && current.DeletedAt is null;
        if (wasActive)
        {
            Active.AddOrUpdate((previous!.Status, ProviderOf(previous)), 0, static (_, n) => n - 1);
        }

        if (isActive)
        {
            Active.AddOrUpdate((current.Status, ProviderOf(current)), 1, static (_, n) => n + 1);
        }

        if (previous is null || previous.Status != current.Status)
        {
            JobTransitions.Add(
                1,
                new KeyValuePair<string, object?>(StateTag, current.Status.ToWire()),
                new KeyValuePair<string, object?>(ModelTag, current.Model),
                new KeyValuePair<string, object?>(ProviderTag, ProviderOf(current)));
        }
    }

    /// <summary>The active jobs the engine found at start (stored before this process, so no observer heard them).</summary>
    public static void JobsRecovered(IEnumerable<Job> active)
    {
        ArgumentNullException.ThrowIfNull(active);
        foreach (var job in active)
        {
            if (!job.Status.IsTerminal() && job.DeletedAt is null)
            {
                Active.AddOrUpdate((job.Status, ProviderOf(job)), 1, static (_, n) => n + 1);
            }
        }
    }

    /// <summary>Starts the span of one submit attempt, and its clock for the upstream duration.</summary>
    public static JobSpan StartSubmit(Job job, string provider) => StartJobSpan("reelay.job.submit", job, provider);

    /// <summary>Starts the span of one poll (after its wait for a poll slot), and its clock for the upstream duration.</summary>
    public static JobSpan StartPoll(Job job, string provider) => StartJobSpan("reelay.job.poll", job, provider);

    /// <summary>Starts the span of finalizing a result: download, probe, thumbnails, storing.</summary>
    public static JobSpan StartFinalize(Job job, string provider) => StartJobSpan("reelay.job.finalize", job, provider);

    /// <summary>Starts the span of one webhook delivery attempt (null when nobody listens).</summary>
    public static Activity? StartWebhookDelivery(string jobId, string eventType, int attempt)
    {
        var activity = Source.StartActivity("reelay.webhook.deliver", ActivityKind.Producer);
        activity?.SetTag(JobIdTag, jobId);
        activity?.SetTag("reelay.webhook.event", eventType);
        activity?.SetTag("reelay.webhook.attempt", attempt);
        return activity;
    }

    /// <summary>Records a submit's answer: the submit counter, the upstream duration since <paramref name="span"/> started, and the outcome on the span.</summary>
    public static void SubmitAnswered(in JobSpan span, SubmitOutcome outcome)
    {
        var name = outcome switch
        {
            SubmitOutcome.Accepted => "accepted",
            SubmitOutcome.Rejected => "rejected",
            _ => "retry_later",
        };
        Answered(Submits, "submit", span, name, outcome is not SubmitOutcome.Accepted);
    }

    /// <summary>Records a poll's answer: the poll counter, its <paramref name="lateness"/> against its due time, the upstream duration, and the outcome on the span.</summary>
    public static void PollAnswered(in JobSpan span, PollOutcome outcome, TimeSpan lateness)
    {
        var name = outcome switch
        {
            PollOutcome.Running => "running",
            PollOutcome.Succeeded => "succeeded",
            PollOutcome.Failed => "failed",
            _ => "retry_later",
        };
        PollLateness.Record(Math.Max(0, lateness.TotalSeconds), new KeyValuePair<string, object?>(ProviderTag, span.Provider));
        Answered(Polls, "poll", span, name, outcome is PollOutcome.RetryLater);
    }

    /// <summary>Records one webhook attempt's outcome (delivered, retrying, dead, error) on the counter and the span.</summary>
    public static void WebhookAttempted(string outcome, int? statusCode, Activity? span)
    {
        WebhookDeliveries.Add(1, new KeyValuePair<string, object?>(OutcomeTag, outcome));
        if (span is not null)
        {
            span.SetTag(OutcomeTag, outcome);
            if (statusCode is { } code)
            {
                span.SetTag("http.response.status_code", code);
            }

            if (outcome != "delivered")
            {
                span.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }
    }

    /// <summary>Records one finished sandbox render (succeeded, failed, cancelled).</summary>
    public static void RenderFinished(string outcome) => Renders.Add(1, new KeyValuePair<string, object?>(OutcomeTag, outcome));

    /// <summary>Records money put on hold by an admission (in micros; zero holds are not counted).</summary>
    public static void MoneyHeldAdded(long micros, string model)
    {
        if (micros > 0)
        {
            MoneyHeld.Add(micros, new KeyValuePair<string, object?>(ModelTag, model));
        }
    }

    /// <summary>Records money charged when a hold settles (in micros).</summary>
    public static void MoneySettledAdded(long micros, string model)
    {
        if (micros > 0)
        {
            MoneySettled.Add(micros, new KeyValuePair<string, object?>(ModelTag, model));
        }
    }

    private static JobSpan StartJobSpan(string name, Job job, string provider)
    {
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag(JobIdTag, job.Id);
            activity.SetTag(ModelTag, job.Model);
            activity.SetTag(ProviderTag, provider);
        }

        return new JobSpan(activity, provider, Stopwatch.GetTimestamp());
    }

    private static void Answered(Counter<long> counter, string operation, in JobSpan span, string outcome, bool error)
    {
        var providerTag = new KeyValuePair<string, object?>(ProviderTag, span.Provider);
        var outcomeTag = new KeyValuePair<string, object?>(OutcomeTag, outcome);
        counter.Add(1, providerTag, outcomeTag);
        UpstreamDuration.Record(Stopwatch.GetElapsedTime(span.StartedTimestamp).TotalSeconds, providerTag, new KeyValuePair<string, object?>("reelay.operation", operation), outcomeTag);
        if (span.Activity is { } activity)
        {
            activity.SetTag(OutcomeTag, outcome);
            if (error)
            {
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }
    }

    /// <summary>Makes <paramref name="circuits"/> visible in the circuit state gauge.</summary>
    public static void ObserveCircuits(Routing.ProviderCircuits circuits) => Circuits.AddOrUpdate(circuits, null);

    /// <summary>A provider circuit changed state (counted once per transition).</summary>
    public static void CircuitChanged(string provider, Routing.CircuitState to) =>
        CircuitTransitions.Add(1, new KeyValuePair<string, object?>(ProviderTag, provider), new KeyValuePair<string, object?>(StateTag, CircuitStateName(to)));

    /// <summary>The wire name of a circuit state: closed, open, half_open.</summary>
    public static string CircuitStateName(Routing.CircuitState state) => state switch
    {
        Routing.CircuitState.Open => "open",
        Routing.CircuitState.HalfOpen => "half_open",
        _ => "closed",
    };

    private static IEnumerable<Measurement<int>> ObserveCircuits()
    {
        foreach (var (circuits, _) in Circuits)
        {
            foreach (var c in circuits.Snapshot())
            {
                yield return new Measurement<int>((int)c.State, new KeyValuePair<string, object?>(ProviderTag, c.Provider));
            }
        }
    }

    // A duration in seconds, with buckets from 5 ms (a local answer) to a minute (a slow upstream).
    private static Histogram<double> SecondsHistogram(string name, string description) => Meter.CreateHistogram<double>(
        name,
        unit: "s",
        description: description,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    private static string ProviderOf(Job job) => job.Provider ?? "none";

    private static IEnumerable<Measurement<long>> ObserveActive()
    {
        foreach (var ((state, provider), count) in Active)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>(StateTag, state.ToWire()), new KeyValuePair<string, object?>(ProviderTag, provider));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveSum(Func<JobStatus, bool> states)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var ((state, provider), count) in Active)
        {
            sums[provider] = sums.GetValueOrDefault(provider) + (states(state) ? count : 0);
        }

        foreach (var (provider, count) in sums)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>(ProviderTag, provider));
        }
    }
}

/// <summary>
/// One job phase's span (null <see cref="Activity"/> when nobody listens for spans) and the clock of its upstream call.
/// Disposing it ends the span.
/// </summary>
/// <param name="Activity">The span, or null.</param>
/// <param name="Provider">The provider instance.</param>
/// <param name="StartedTimestamp">When the phase started (<see cref="Stopwatch.GetTimestamp"/>).</param>
public readonly record struct JobSpan(Activity? Activity, string Provider, long StartedTimestamp) : IDisposable
{
    /// <summary>Ends the span.</summary>
    public void Dispose() => Activity?.Dispose();
}
