using System.Diagnostics;
using System.Diagnostics.Metrics;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Tests.Diagnostics;

/// <summary>
/// The job metrics of <see cref="ReelayTelemetry"/>, read through a <see cref="MeterListener"/>. The instruments are
/// per process, so every test uses its own provider names and reads only their series.
/// </summary>
public sealed class ReelayTelemetryTests
{
    [Fact]
    public void JobChanged_QueuedToSucceeded_ActiveGaugesReturnToZeroAndEveryStateIsCounted()
    {
        var provider = "telemetry-test-" + Guid.NewGuid().ToString("N");
        using var meter = new MeterRecorder(provider);
        var queued = NewJob(provider, JobStatus.Queued);
        ReelayTelemetry.JobChanged(null, queued);
        Assert.Equal(1, meter.Observe("reelay.queue.depth"));
        Assert.Equal(0, meter.Observe("reelay.provider.in_flight"));

        var submitting = queued with { Status = JobStatus.Submitting };
        ReelayTelemetry.JobChanged(queued, submitting);
        var running = submitting with { Status = JobStatus.Running };
        ReelayTelemetry.JobChanged(submitting, running);
        var progress = running with { Progress = 50 };
        ReelayTelemetry.JobChanged(running, progress);
        Assert.Equal(0, meter.Observe("reelay.queue.depth"));
        Assert.Equal(1, meter.Observe("reelay.provider.in_flight"));
        Assert.Equal(1, meter.Observe("reelay.jobs.active", ("reelay.state", "running")));

        ReelayTelemetry.JobChanged(progress, progress with { Status = JobStatus.Succeeded });
        Assert.Equal(0, meter.Observe("reelay.provider.in_flight"));
        Assert.Equal(0, meter.Observe("reelay.jobs.active"));

        // queued, submitting, running, succeeded: one each; the progress change is not a transition.
        Assert.Equal(4, meter.Counted("reelay.job.transitions"));
        Assert.Equal(1, meter.Counted("reelay.job.transitions", ("reelay.state", "succeeded")));
    }

    [Fact]
    public void JobChanged_FailOverToAnotherProvider_MovesTheQueuedJob()
    {
        var first = "telemetry-test-a-" + Guid.NewGuid().ToString("N");
        var second = "telemetry-test-b-" + Guid.NewGuid().ToString("N");
        using var firstMeter = new MeterRecorder(first);
        using var secondMeter = new MeterRecorder(second);
        var submitting = NewJob(first, JobStatus.Submitting);
        ReelayTelemetry.JobsRecovered([submitting]);
        Assert.Equal(1, firstMeter.Observe("reelay.provider.in_flight"));

        ReelayTelemetry.JobChanged(submitting, submitting with { Status = JobStatus.Queued, Provider = second });
        Assert.Equal(0, firstMeter.Observe("reelay.provider.in_flight"));
        Assert.Equal(1, secondMeter.Observe("reelay.queue.depth"));
    }

    [Fact]
    public void SubmitAnswered_Rejected_CountsOutcomeAndMarksSpanError()
    {
        var provider = "telemetry-test-" + Guid.NewGuid().ToString("N");
        using var meter = new MeterRecorder(provider);
        var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ReelayTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var job = NewJob(provider, JobStatus.Submitting);
        using (var span = ReelayTelemetry.StartSubmit(job, provider))
        {
            ReelayTelemetry.SubmitAnswered(span, new SubmitOutcome.Rejected(new JobError(ErrorCodes.InvalidRequest, "no")));
        }

        Assert.Equal(1, meter.Counted("reelay.submits", ("reelay.outcome", "rejected")));
        Assert.Equal(1, meter.Recorded("reelay.upstream.duration"));
        var submit = Assert.Single(spans, s => Equals(s.GetTagItem(ReelayTelemetry.ProviderTag), provider));
        Assert.Equal("reelay.job.submit", submit.OperationName);
        Assert.Equal(job.Id, submit.GetTagItem(ReelayTelemetry.JobIdTag));
        Assert.Equal(ActivityStatusCode.Error, submit.Status);
        Assert.Null(submit.GetTagItem("prompt"));
    }

    private static Job NewJob(string provider, JobStatus status) => new()
    {
        Id = "video_" + Guid.NewGuid().ToString("N"),
        Owner = "admin",
        Model = "sandbox",
        Mode = VideoMode.TextToVideo,
        Prompt = "a secret prompt",
        DurationSeconds = 4,
        Width = 64,
        Height = 64,
        Status = status,
        Provider = provider,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
        Deadline = DateTimeOffset.UnixEpoch.AddHours(1),
    };

    /// <summary>Listens to the Reelay meter and keeps the measurements whose provider is <c>provider</c>.</summary>
    private sealed class MeterRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Instrument, long Value, Dictionary<string, object?> Tags)> _counted = [];
        private readonly List<(string Instrument, Dictionary<string, object?> Tags)> _recorded = [];
        private List<(string Instrument, long Value, Dictionary<string, object?> Tags)> _observed = [];
        private readonly string _provider;

        public MeterRecorder(string provider)
        {
            _provider = provider;
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ReelayTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var map = ToMap(tags);
                if (!Equals(map.GetValueOrDefault(ReelayTelemetry.ProviderTag), _provider))
                {
                    return;
                }

                lock (_counted)
                {
                    if (instrument.IsObservable)
                    {
                        _observed.Add((instrument.Name, value, map));
                    }
                    else
                    {
                        _counted.Add((instrument.Name, value, map));
                    }
                }
            });
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
            {
                var map = ToMap(tags);
                if (Equals(map.GetValueOrDefault(ReelayTelemetry.ProviderTag), _provider))
                {
                    lock (_counted)
                    {
                        _recorded.Add((instrument.Name, map));
                    }
                }
            });
            _listener.Start();
        }

        /// <summary>The sum of an observable instrument's current values for this provider (and <paramref name="tag"/>).</summary>
        public long Observe(string instrument, (string Key, string Value)? tag = null)
        {
            lock (_counted)
            {
                _observed = [];
            }

            _listener.RecordObservableInstruments();
            lock (_counted)
            {
                return _observed.Where(m => m.Instrument == instrument && Matches(m.Tags, tag)).Sum(m => m.Value);
            }
        }

        public long Counted(string instrument, (string Key, string Value)? tag = null)
        {
            lock (_counted)
            {
                return _counted.Where(m => m.Instrument == instrument && Matches(m.Tags, tag)).Sum(m => m.Value);
            }
        }

        public int Recorded(string instrument)
        {
            lock (_counted)
            {
                return _recorded.Count(m => m.Instrument == instrument);
            }
        }

        public void Dispose() => _listener.Dispose();

        private static bool Matches(Dictionary<string, object?> tags, (string Key, string Value)? tag) =>
            tag is not { } t || Equals(tags.GetValueOrDefault(t.Key), t.Value);

        private static Dictionary<string, object?> ToMap(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, value) in tags)
            {
                map[key] = value;
            }

            return map;
        }
    }
}
