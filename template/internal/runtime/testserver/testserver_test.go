package testserver_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

func TestBinaryInGOPATH(t *testing.T) {
	gopath := t.TempDir()
	bin := filepath.Join(gopath, "bin", "aegis-test-server")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOPATH", string(os.PathListSeparator)+gopath)
	if got := testserver.Binary(t, "aegis-test-server", "go install example.com/x@v1"); got != bin {
		t.Errorf("Binary = %q, want %q", got, bin)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := testserver.FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}
