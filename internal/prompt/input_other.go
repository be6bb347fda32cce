//go:build !unix

package prompt

import "io"

// formInput is the input itself where forms do not read through epoll (see input_unix.go).
func formInput(in io.Reader) (io.Reader, func()) { return in, func() {} }
