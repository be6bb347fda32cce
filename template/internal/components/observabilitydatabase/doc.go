// Package observabilitydatabase is the glue of the observability and database components:
// it publishes the database's connection pool (connections used and idle, the pool's size,
// the requests that waited) through the component's meter provider, so they are at /metrics
// and go over OTLP. Its tests also run queries with the OpenTelemetry SDK's tracer provider,
// which the database takes from the component (backend.Telemetry) and hooks into bun, and
// check their spans.
package observabilitydatabase
