//go:build unix

package prompt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestFormsInARowReadEveryKey runs questions one after another on a terminal, as init does, and
// answers each with one keystroke to pick and one to confirm: every question must act on its
// first key. (Each form used to lose its first key to the previous form's input goroutine.)
func TestFormsInARowReadEveryKey(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	screen := &lockedText{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			screen.add(buf[:n])
			if err != nil {
				return
			}
		}
	}()

	const questions = 5
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	f := &Form{In: tty, Out: tty}
	answers := make(chan []string, questions)
	errs := make(chan error, 1)
	go func() {
		for i := range questions {
			v, err := f.MultiSelect(ctx, fmt.Sprintf("Question %d", i), testOptions, nil)
			if err != nil {
				errs <- err
				return
			}
			answers <- v
		}
	}()
	for i := range questions {
		title := fmt.Sprintf("Question %d", i)
		if !screen.waitFor(ctx, title) {
			t.Fatalf("%s never showed; screen:\n%s", title, screen.text())
		}
		// Space picks the first option; enter confirms. One keystroke each, no retries.
		if _, err := ptmx.Write([]byte(" ")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // two keys in one read would be one paste
		if _, err := ptmx.Write([]byte("\r")); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-answers:
			if !slices.Equal(v, []string{"database"}) {
				t.Errorf("%s answered %v, want [database]: a keystroke was lost", title, v)
			}
		case err := <-errs:
			t.Fatalf("%s: %v", title, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not end 10 s after its confirming key: a keystroke was lost", title)
		}
	}
}

// lockedText collects a terminal's output for a test to wait on.
type lockedText struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedText) add(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
}

func (l *lockedText) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedText) waitFor(ctx context.Context, s string) bool {
	for ctx.Err() == nil {
		if strings.Contains(l.text(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
