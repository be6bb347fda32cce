// Package observabilitycache is the glue of the observability and cache components: its test
// checks that the cache's hits, misses and store failures, which the cache publishes through
// the OpenTelemetry API, reach the component's /metrics.
package observabilitycache
