// Package registry is the service layer every Aegis app carries: typed registration of
// services with their dependencies, validation of the whole graph before anything runs,
// lifetimes (singleton, scoped, transient), an ordered lifecycle, health and introspection.
//
// A service is registered with a constructor whose parameters are its dependencies:
//
//	func init() {
//		registry.Provide1(registry.Default, NewUserService) // func(context.Context, *db.Database) (*UserService, error)
//	}
//
// The app then builds and starts a Container once, and resolves services from it (or from a
// Scope, for request- and job-scoped services):
//
//	c, err := registry.Default.Build() // validates: missing deps, duplicates, cycles, lifetimes
//	err = c.Start(ctx)                  // constructs singletons in dependency order
//	users, err := registry.Get[*UserService](c)
//
// Registration happens from init functions, whose return values are easy to ignore, so a
// Registry keeps every registration error and reports it again from Validate and Build.
// Nothing is dropped silently.
//
// Nothing in this package panics across its boundary except MustGet: panics in user
// constructors and hooks are recovered and returned as *PanicError.
package registry
