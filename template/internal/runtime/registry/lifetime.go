package registry

import "strconv"

// Lifetime says how long one instance of a service lives. The zero value is Singleton.
type Lifetime uint8

const (
	// Singleton services are constructed once, by Container.Start, and shared.
	Singleton Lifetime = iota
	// Scoped services are constructed on first use in a Scope (one HTTP request or one
	// background job), reused within it, and closed with it.
	Scoped
	// Transient services are constructed on every resolution. Inside a Scope they are
	// closed with the scope; resolved from the Container they belong to the caller.
	Transient
)

// String returns "singleton", "scoped" or "transient".
func (l Lifetime) String() string {
	switch l {
	case Singleton:
		return "singleton"
	case Scoped:
		return "scoped"
	case Transient:
		return "transient"
	}
	return "Lifetime(" + strconv.Itoa(int(l)) + ")"
}

func (l Lifetime) valid() bool { return l <= Transient }
