//go:build unix

package prompt

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// formInput gives one form its own descriptor of the terminal, closed when the form ends.
//
// Bubble Tea v2.0.2 stops a form's input goroutine by closing its epoll descriptor; a goroutine
// that reaches epoll_wait only after that waits on whatever reuses the number, which is the next
// form's epoll watching the same terminal, and it reads that form's first key. On a descriptor
// of its own, closed with the form, the late goroutine sees an event for a descriptor it no longer
// knows and ends without reading.
func formInput(in io.Reader) (io.Reader, func()) {
	f, ok := in.(*os.File)
	if !ok {
		return in, func() {}
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return in, func() {}
	}
	own := os.NewFile(uintptr(fd), f.Name())
	return own, func() { _ = own.Close() }
}
