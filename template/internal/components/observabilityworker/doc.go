// Package observabilityworker is the glue of the observability and worker components: its
// test runs jobs through River with the OpenTelemetry SDK installed and checks that a job's
// work continues the trace of the request that enqueued it (the worker instruments against
// the OpenTelemetry API alone, so it cannot test that without the component).
package observabilityworker
