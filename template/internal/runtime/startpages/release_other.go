//go:build !linux

package startpages

func release() (Result, error) { return Result{}, ErrUnsupported }
