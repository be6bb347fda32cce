// Package testserver finds and places the real servers integration tests start (Mailpit,
// Jaeger): a binary installed with the go command, and free loopback ports for it.
package testserver

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binary finds name on PATH or in $(go env GOPATH)/bin (where `go install` puts it, often
// not on PATH), or skips t saying how to install it.
func Binary(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for dir := range strings.SplitSeq(gopath, string(os.PathListSeparator)) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, "bin", name); fileExists(p) {
			return p
		}
	}
	t.Skipf("%s is not installed (PATH, $(go env GOPATH)/bin); install it with: %s", name, install)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now, for a server whose
// ports must be known before it starts.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Serve hands each connection to a loopback listener to handle, on a goroutine of its own,
// until the test ends, and returns the listener's address: a stand-in server that misbehaves
// on purpose (drops, hangs, answers in part).
func Serve(t testing.TB, handle func(net.Conn)) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(conn)
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}
