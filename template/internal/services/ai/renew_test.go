package ai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// logTo sends svc's log, debug included, to a new buffer.
func logTo(svc *Service) *logtest.Buffer {
	b := &logtest.Buffer{}
	svc.logger = slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return b
}

// leaseOf is the end of conversation id's lease; zero when it has none.
func leaseOf(t *testing.T, db *database.DB, id int64) time.Time {
	t.Helper()
	c := new(Conversation)
	if err := db.Bun().NewSelect().Model(c).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.AnsweringUntil == nil {
		return time.Time{}
	}
	return *c.AnsweringUntil
}

// eventually polls cond every few milliseconds until it holds, failing after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// chatAsync sends prompt to conversation id on svc as ann and returns the answer's outcome,
// once the prompt is with held (the provider of svc).
func chatAsync(t *testing.T, ctx context.Context, svc *Service, held *heldProvider, id int64) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panicked: %v", r)
			}
		}()
		_, err := svc.Chat(ctx, ChatParams{Prompt: "first", ConversationID: id})
		done <- err
	}()
	select {
	case <-held.entered:
	case err := <-done:
		t.Fatalf("the prompt did not reach the provider: %v", err)
	}
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the answer did not end")
		return nil
	}
}

// TestConversationLeaseRenewed: the instance answering a prompt renews its conversation's
// short lease while the answer is under way, so a long answer keeps its conversation past
// the lease's first end (another instance is still refused then); a renewal that finds the
// lease gone lets the answer go on: the conversation deleted (the answer then finds it
// missing) or, the lease having run out before a renewal, claimed by another instance,
// whose lease the answer's end leaves alone (with a warning, as two answers are under way).
func TestConversationLeaseRenewed(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		annCtx := context.WithValue(t.Context(), testUserKey{}, "ann")
		for _, tc := range []struct {
			name        string
			term, renew time.Duration
			// during runs while A answers conversation id under its first lease, which ends
			// at first; it returns the lease A's answer must leave once it ends (zero: none).
			during  func(t *testing.T, a, b instance, id int64, first time.Time) time.Time
			wantErr error
			// wantLog is in A's log, and warns (or not) as warn says.
			wantLog string
			warn    bool
		}{
			{"renewed past its first end", time.Second, 50 * time.Millisecond, func(t *testing.T, a, b instance, id int64, first time.Time) time.Time {
				time.Sleep(time.Until(first.Add(200 * time.Millisecond)))
				if got := leaseOf(t, db, id); !got.After(first) {
					t.Errorf("the lease ends at %v, past, not renewed since %v", got, first)
				}
				if _, err := b.svc.Chat(annCtx, ChatParams{Prompt: "second", ConversationID: id}); !errors.Is(err, ErrConversationBusy) {
					t.Errorf("B past the lease's first end: %v, want ErrConversationBusy", err)
				}
				return time.Time{}
			}, nil, "", false},
			{"deleted", time.Second, 20 * time.Millisecond, func(t *testing.T, a, b instance, id int64, first time.Time) time.Time {
				if err := b.svc.DeleteConversation(annCtx, id); err != nil {
					t.Fatal(err)
				}
				return time.Time{}
			}, ErrNotFound, "the conversation being answered was deleted", false},
			{"taken once run out", 200 * time.Millisecond, 600 * time.Millisecond, func(t *testing.T, a, b instance, id int64, first time.Time) time.Time {
				time.Sleep(time.Until(first.Add(20 * time.Millisecond)))
				until, err := b.svc.claim(annCtx, id)
				if err != nil {
					t.Fatalf("B once A's lease ran out: %v", err)
				}
				return until
			}, nil, "ran out before its renewal and another prompt took it", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				held := newHeldProvider()
				a := newInstance(t, db, held)
				a.svc.leaseTerm, a.svc.leaseRenew = tc.term, tc.renew
				logs := logTo(a.svc)
				b := newInstance(t, openAgain(t, db), hookProvider{during: func(context.Context) {}})
				c, err := a.svc.CreateConversation(annCtx, "t", "")
				if err != nil {
					t.Fatal(err)
				}
				done := chatAsync(t, annCtx, a.svc, held, c.ID)
				first := leaseOf(t, db, c.ID)
				if first.IsZero() || time.Until(first) > tc.term {
					t.Fatalf("the conversation being answered has a lease until %v, want at most %s from now", first, tc.term)
				}
				keep := tc.during(t, a, b, c.ID, first)
				if tc.wantLog != "" {
					eventually(t, 5*time.Second, "log "+tc.wantLog, func() bool { return strings.Contains(logs.String(), tc.wantLog) })
				}
				held.release <- nil
				if err := wait(t, done); !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Errorf("A's answer: %v, want %v", err, tc.wantErr)
				}
				if warned := strings.Contains(logs.String(), "level=WARN"); warned != tc.warn {
					t.Errorf("A warned %v, want %v: %s", warned, tc.warn, logs)
				}
				if tc.wantErr != nil {
					return
				}
				if got := leaseOf(t, db, c.ID); !got.Equal(keep.UTC().Truncate(time.Microsecond)) {
					t.Errorf("once A's answer ended the lease ends at %v, want %v", got, keep)
				}
			})
		}
	})
}

// TestConversationLeaseDeadInstance: an instance that dies mid-answer (here: its database
// pool is closed, so it can neither renew nor release its lease) holds its conversation
// until its short lease runs out, not for the longest an answer can take (AI_TIMEOUT and a
// minute, as the lease was): another instance answers the conversation's next prompt then.
func TestConversationLeaseDeadInstance(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		annCtx := context.WithValue(t.Context(), testUserKey{}, "ann")
		adb := openAgain(t, db)
		held := newHeldProvider()
		a := newInstance(t, adb, held)
		const term = time.Second
		a.svc.leaseTerm, a.svc.leaseRenew = term, 50*time.Millisecond
		b := newInstance(t, db, hookProvider{during: func(context.Context) {}})
		c, err := b.svc.CreateConversation(annCtx, "t", "")
		if err != nil {
			t.Fatal(err)
		}
		done := chatAsync(t, annCtx, a.svc, held, c.ID)
		defer func() {
			held.release <- errors.New("the instance is gone")
			wait(t, done)
		}()
		if _, err := b.svc.Chat(annCtx, ChatParams{Prompt: "second", ConversationID: c.ID}); !errors.Is(err, ErrConversationBusy) {
			t.Fatalf("B while A answers: %v, want ErrConversationBusy", err)
		}
		if err := adb.Close(); err != nil {
			t.Fatal(err)
		}
		died := time.Now()
		var res *ChatResult
		eventually(t, term+2*time.Second, "B answering once A died", func() bool {
			res, err = b.svc.Chat(annCtx, ChatParams{Prompt: "second", ConversationID: c.ID})
			if err != nil && !errors.Is(err, ErrConversationBusy) {
				t.Fatalf("B once A died: %v", err)
			}
			return err == nil
		})
		if waited := time.Since(died); waited > term+time.Second {
			t.Errorf("B answered %s after A died, want within the lease's term %s", waited, term)
		}
		if res.Content != "ok" {
			t.Errorf("B's answer %q", res.Content)
		}
		if got, want := messagesOf(t, db, c.ID), "user:first user:second assistant:ok"; got != want {
			t.Errorf("messages %q, want %q", got, want)
		}
	})
}

// renewers counts the goroutines renewing leases (keepLease's).
func renewers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "ai.(*Service).keepLease.func")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestConversationLeaseRenewalsEnd: the goroutine renewing a lease ends with its answer,
// whichever way the answer ends. Not parallel: it counts every goroutine of the process.
func TestConversationLeaseRenewalsEnd(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		db := databasetest.New(t, engine)
		held := newHeldProvider()
		inst := newInstance(t, db, held)
		inst.svc.leaseTerm, inst.svc.leaseRenew = time.Second, 5*time.Millisecond
		annCtx := context.WithValue(t.Context(), testUserKey{}, "ann")
		for _, tc := range []struct {
			name string
			end  func(t *testing.T, id int64, cancel context.CancelFunc)
		}{
			{"answered", func(*testing.T, int64, context.CancelFunc) { held.release <- nil }},
			{"provider failed", func(*testing.T, int64, context.CancelFunc) {
				held.release <- &ProviderError{Status: 500, Reason: "down"}
			}},
			{"caller gone", func(_ *testing.T, _ int64, cancel context.CancelFunc) { cancel() }},
			{"provider panicked", func(*testing.T, int64, context.CancelFunc) { held.release <- errPanic }},
			{"deleted", func(t *testing.T, id int64, _ context.CancelFunc) {
				if err := inst.svc.DeleteConversation(annCtx, id); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // renewals find it gone
				held.release <- nil
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := inst.svc.CreateConversation(annCtx, "t", "")
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(annCtx)
				defer cancel()
				done := chatAsync(t, ctx, inst.svc, held, c.ID)
				if n := renewers(); n != 1 {
					t.Errorf("%d goroutines renew the lease while the answer is under way, want 1", n)
				}
				time.Sleep(20 * time.Millisecond) // a few renewals
				tc.end(t, c.ID, cancel)
				wait(t, done)
				// The goroutine has signalled its end, and may take a moment to be gone.
				eventually(t, time.Second, "no goroutine renewing once the answer ended", func() bool { return renewers() == 0 })
			})
		}
	})
}
