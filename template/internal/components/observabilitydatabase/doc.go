// Package observabilitydatabase is the glue of the observability and database components:
// its test runs queries with the OpenTelemetry SDK's tracer provider, which the database
// takes from the component (backend.Telemetry) and hooks into bun, and checks their spans.
package observabilitydatabase
