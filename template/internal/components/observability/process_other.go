//go:build !linux

package observability

// processFamilies has nothing to say outside Linux, where /proc is not there to read.
func processFamilies() []*promFamily { return nil }
