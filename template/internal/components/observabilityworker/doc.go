// Package observabilityworker is the glue of the observability and worker components: it
// publishes each queue's jobs by state (the queue depth) through the component's meter
// provider, from the worker's cached counts, and its tests run jobs through River with the
// OpenTelemetry SDK installed: a job's work continues the trace of the request that enqueued
// it, and its metrics reach /metrics and the dashboard's Metrics panel (the worker
// instruments against the OpenTelemetry API alone, so it cannot test that without the
// component).
package observabilityworker
