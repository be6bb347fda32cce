package observability

import (
	"runtime"
	"runtime/pprof"
)

// runtimeFamilies are the Go process's standard Prometheus metrics that dashboards built for
// Go services look for (go_info, go_goroutines, go_threads, and process_* where the system
// says them), read at each scrape. The runtime's memory and GC figures come through
// OpenTelemetry's instruments (runtime.go), which OTLP carries too.
func runtimeFamilies() []*promFamily {
	threads := pprof.Lookup("threadcreate").Count()
	families := []*promFamily{
		{Name: "go_info", Help: "Information about the Go environment.", Type: "gauge",
			Series: []promSeries{{Labels: []promLabel{{"version", runtime.Version()}}, Value: 1}}},
		{Name: "go_goroutines", Help: "Number of goroutines that currently exist.", Type: "gauge",
			Series: []promSeries{{Value: float64(runtime.NumGoroutine())}}},
		{Name: "go_threads", Help: "Number of OS threads created.", Type: "gauge",
			Series: []promSeries{{Value: float64(threads)}}},
	}
	return append(families, processFamilies()...)
}

// gauge and counter make a family of one unlabelled series.
func gauge(name, help string, v float64) *promFamily {
	return &promFamily{Name: name, Help: help, Type: "gauge", Series: []promSeries{{Value: v}}}
}

func counter(name, help string, v float64) *promFamily {
	return &promFamily{Name: name, Help: help, Type: "counter", Series: []promSeries{{Value: v}}}
}
