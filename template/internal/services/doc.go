// Package services holds the app's own services: the domain logic that
// handlers and jobs call.
//
// # Adding a service
//
// Create one file in this folder, for example greeter.go, with the service
// and an init() that registers it. Nothing else needs editing: the package
// is already imported by the binary, so the service is live on the next run,
// listed by the services command and checked by /health/detailed.
//
//	package services
//
//	import (
//		"context"
//
//		"<module>/internal/runtime/registry"
//	)
//
//	// Greeter says hello. It has no dependencies; list them as constructor
//	// parameters (registry.Provide1, Provide2, ...) and the registry passes
//	// them in, started, in dependency order.
//	type Greeter struct{}
//
//	func NewGreeter(context.Context) (*Greeter, error) { return &Greeter{}, nil }
//
//	func (g *Greeter) Greet(name string) string { return "Hello, " + name + "!" }
//
//	func init() {
//		// Registration errors are kept by the registry and stop `serve` with
//		// a message naming this line, so the result needs no handling here.
//		_ = registry.Provide(registry.Default, NewGreeter,
//			registry.Describe("Says hello"))
//	}
//
// A handler then resolves it with registry.Get[*services.Greeter](resolver),
// where the resolver is the container, or registry.FromContext(r.Context())
// inside a request. Add Start, Stop or CheckHealth methods to take part in
// the lifecycle and in health checks (see the registry package).
//
// # Larger services
//
// A service that grows several files can move to its own sub-folder
// (internal/services/billing). Sub-packages are imported through
// wire_gen.go, which `go generate ./...` rewrites; wire_test.go fails, naming
// the package, until you run it.
package services

//go:generate go run ../wire/wiregen
