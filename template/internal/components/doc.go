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
// registry.Component(name), and contributes what it adds to the
// app with registry.Contribute: its settings (config.Declare), routes
// (backend.Routes), commands (command.Builder), migrations, dashboard panels.
// Components import the backend and the frontend (always present) and the
// components they require; glue folders, generated only when both of their
// owners are selected, join two others.
package components

//go:generate go run ../wire/wiregen
