package worker

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// Job metrics, against OpenTelemetry's API like the spans: recorded only once an SDK is
// installed (the observability component's meter provider, which serves them at /metrics).
const (
	metricEnqueued    = "river.jobs.enqueued"
	metricJobDuration = "river.job.duration"
	metricJobWait     = "river.job.wait"
)

type jobMetrics struct {
	enqueued metric.Int64Counter
	duration metric.Float64Histogram // per attempt, with its outcome
	wait     metric.Float64Histogram // from the time the job was due to its attempt's start
}

// instruments are made once per installed SDK; nil without one.
var instruments = tracing.NewInstruments(instrumentationScope, newJobMetrics)

// jobBuckets span a quick job to the 30 s River allows by default, in seconds.
var jobBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// metrics returns the job instruments, or nil when no SDK is installed (or they cannot be
// made: metrics are never a reason for a job to fail).
func metrics() *jobMetrics { return instruments.Get() }

func newJobMetrics(meter metric.Meter) (*jobMetrics, error) {
	m := &jobMetrics{}
	var errs [3]error
	m.enqueued, errs[0] = meter.Int64Counter(metricEnqueued, metric.WithUnit("{job}"),
		metric.WithDescription("Jobs inserted into the queue."))
	m.duration, errs[1] = meter.Float64Histogram(metricJobDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of job attempts, by kind, queue and outcome."),
		metric.WithExplicitBucketBoundaries(jobBuckets...))
	m.wait, errs[2] = meter.Float64Histogram(metricJobWait, metric.WithUnit("s"),
		metric.WithDescription("Time from when a job was due to the start of its attempt."),
		metric.WithExplicitBucketBoundaries(jobBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return m, nil
}

// countInserted records the jobs an insert added, by kind and queue.
func (m *jobMetrics) countInserted(ctx context.Context, res []*rivertype.JobInsertResult) {
	for _, r := range res {
		if r == nil || r.Job == nil || r.UniqueSkippedAsDuplicate {
			continue
		}
		m.enqueued.Add(ctx, 1, metric.WithAttributes(
			attribute.String("river.job.kind", r.Job.Kind), attribute.String("river.queue", r.Job.Queue)))
	}
}

// recordAttempt records one attempt of job that started at start and ended as outcome
// (attemptOutcome's; a panic counts as an error).
func (m *jobMetrics) recordAttempt(ctx context.Context, job *rivertype.JobRow, start time.Time, outcome string) {
	if outcome == outcomePanic {
		outcome = outcomeError
	}
	m.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(
		attribute.String("river.job.kind", job.Kind), attribute.String("river.queue", job.Queue),
		attribute.String("outcome", outcome)))
	if !job.ScheduledAt.IsZero() {
		m.wait.Record(ctx, max(start.Sub(job.ScheduledAt), 0).Seconds(), metric.WithAttributes(
			attribute.String("river.job.kind", job.Kind), attribute.String("river.queue", job.Queue)))
	}
}
