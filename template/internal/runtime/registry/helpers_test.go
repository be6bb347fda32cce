package registry_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// here is the file:line of its caller, to compare with what errors report.
func here() string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", file, line)
}

// must fails the test when a registration returns an error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newLogger() (*slog.Logger, *logtest.Buffer) {
	b := &logtest.Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// Small service types used across tests.
type (
	DB      struct{ dsn string }
	Blob    struct{}
	Repo    struct{ db *DB }
	Handler struct{ repo *Repo }
	Greeter interface{ Greet() string }
	English struct{}
)

func (English) Greet() string { return "hello" }

func newDB(context.Context) (*DB, error)                      { return &DB{dsn: "mem"}, nil }
func newRepo(_ context.Context, db *DB) (*Repo, error)        { return &Repo{db: db}, nil }
func newBlob(context.Context) (*Blob, error)                  { return &Blob{}, nil }
func newEnglish(context.Context) (*English, error)            { return &English{}, nil }
func newHandler(_ context.Context, r *Repo) (*Handler, error) { return &Handler{repo: r}, nil }

// lifecycle records Start and Stop calls of a value and can be told to fail or hang.
type lifecycle struct {
	name     string
	log      *events
	startErr error
	stopErr  error
	stopHang time.Duration
}

func (l *lifecycle) Start(context.Context) error {
	l.log.add("start " + l.name)
	return l.startErr
}

func (l *lifecycle) Stop(context.Context) error {
	// A hang ignores ctx on purpose: the container must not wait for it past the timeout.
	time.Sleep(l.stopHang)
	l.log.add("stop " + l.name)
	return l.stopErr
}

// events is an ordered, concurrency-safe log of what happened.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

func itoa(i int) string { return fmt.Sprint(i) }

func splitLoc(loc string) (string, int) {
	i := strings.LastIndexByte(loc, ':')
	n, _ := strconv.Atoi(loc[i+1:])
	return loc[:i], n
}
