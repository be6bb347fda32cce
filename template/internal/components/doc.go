// Package components imports every component of the app (the packages in
// its sub-folders) so that their init() functions register them. The list
// is wire_gen.go, written by wiregen: after adding or removing a component
// folder, run
//
//	go generate ./...
//
// and wire_test.go fails until you do.
//
// A component is infrastructure the app's services build on (the HTTP
// server, the status page, a database pool, a cache). Each one registers
// itself with the runtime registry from init() using
// registry.Kind(registry.KindComponent), declares its settings with
// config.Register, and mounts any routes with backend.Routes. Components
// never import one another except the backend, whose route list is the
// meeting point.
package components

//go:generate go run ../wire/wiregen
