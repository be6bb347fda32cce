package ai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// heldProvider holds each call until the test ends it: entered gets the call once it is with
// the provider, and the call then answers "ok" (nil from release), fails (an error), panics
// (errPanic) or ends with its caller's context.
type heldProvider struct {
	entered chan struct{}
	release chan error
}

var errPanic = errors.New("panic")

func newHeldProvider() *heldProvider {
	return &heldProvider{entered: make(chan struct{}), release: make(chan error)}
}

func (*heldProvider) Kind() string { return ProviderLocal }

func (p *heldProvider) Chat(ctx context.Context, req Request) (*Response, error) {
	p.entered <- struct{}{}
	select {
	case err := <-p.release:
		switch {
		case errors.Is(err, errPanic):
			panic("the provider panicked")
		case err != nil:
			return nil, err
		}
		return &Response{Model: req.Model, Content: "ok", Usage: Usage{InputTokens: 3, OutputTokens: 2}, StopReason: "stop"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *heldProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (*Response, error) {
	resp, err := p.Chat(ctx, req)
	if err != nil {
		return resp, err
	}
	return resp, onDelta(resp.Content)
}

func (*heldProvider) Models(context.Context) ([]string, error) { return []string{"m"}, nil }

// instance is one app instance on a database: its own pool, service and handler, as a
// replica (or `ai chat` beside `serve`) has.
type instance struct {
	svc *Service
	h   http.Handler
}

func newInstance(t *testing.T, db *database.DB, prov Provider) instance {
	t.Helper()
	svc, err := New(db, Settings{Provider: ProviderLocal, Model: "m"},
		&Opts{Identity: headerIdentity{}, Providers: map[string]Provider{ProviderLocal: prov}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return instance{svc: svc, h: frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })}
}

// openAgain opens db's database a second time: another pool, as another process has.
func openAgain(t *testing.T, db *database.DB) *database.DB {
	t.Helper()
	other, err := database.Open(t.Context(), db.Settings())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	return other
}

// wantBusy checks that rec is the 409 of a conversation answering another prompt, with a
// Retry-After of BusyRetryAfter that its detail repeats.
func wantBusy(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	res, body := rec.Result(), rec.Body.String()
	var p struct {
		Detail string `json:"detail"`
	}
	secs := strconv.Itoa(int(BusyRetryAfter / time.Second))
	if res.StatusCode != http.StatusConflict || res.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil ||
		!strings.Contains(p.Detail, "still answering another prompt; wait for that answer") || !strings.Contains(p.Detail, "retry in "+secs+" seconds") {
		t.Errorf("%s: %d %s %s, want a 409 problem saying to retry in %s seconds", what, res.StatusCode, res.Header.Get("Content-Type"), body, secs)
	}
	if got := res.Header.Get("Retry-After"); got != secs {
		t.Errorf("%s: Retry-After %q, want %s", what, got, secs)
	}
}

// messagesOf is a conversation's messages as role:content, in order.
func messagesOf(t *testing.T, db *database.DB, id int64) string {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), fmt.Sprintf("SELECT role, content FROM ai_messages WHERE conversation_id = %d ORDER BY id", id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var role, content string
		if err := rows.Scan(&role, &content); err != nil {
			t.Fatal(err)
		}
		out = append(out, role+":"+content)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

// TestConversationOneAnswerAcrossInstances: two instances of the app on one database (each
// its own pool and service) answer one prompt of a conversation at a time. The conversations
// being answered were a map in each process, so a prompt sent to the other instance while
// one answered (a load balancer, `ai chat` beside `serve`) was answered too, and both answers
// were stored after both prompts. Now the conversation's row holds a lease: B refuses with a
// 409 and Retry-After while A answers, answers another conversation meanwhile, and answers
// once A's answer ended, whichever way it ended.
func TestConversationOneAnswerAcrossInstances(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		held := newHeldProvider()
		a := newInstance(t, db, held)
		b := newInstance(t, openAgain(t, db), hookProvider{during: func(context.Context) {}})
		ann := map[string]string{"X-Test-User": "ann"}
		annCtx := context.WithValue(t.Context(), testUserKey{}, "ann")
		other := decode[Conversation](t, send(t, b.h, http.MethodPost, Prefix+"/conversations", map[string]any{}, ann))

		for _, tc := range []struct {
			name string
			// fresh: A's prompt starts the conversation (it is created claimed).
			fresh bool
			// end ends A's answer.
			end func(cancel context.CancelFunc)
			// want is the conversation once B's prompt is answered.
			want string
		}{
			{"answered", false, func(context.CancelFunc) { held.release <- nil }, "user:first assistant:ok user:second assistant:ok"},
			{"answered, new conversation", true, func(context.CancelFunc) { held.release <- nil }, "user:first assistant:ok user:second assistant:ok"},
			{"provider failed", false, func(context.CancelFunc) { held.release <- &ProviderError{Status: 500, Reason: "down"} }, "user:first user:second assistant:ok"},
			{"caller gone", false, func(cancel context.CancelFunc) { cancel() }, "user:first user:second assistant:ok"},
			{"provider panicked", true, func(context.CancelFunc) { held.release <- errPanic }, "user:first user:second assistant:ok"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var id int64
				if !tc.fresh {
					id = decode[Conversation](t, send(t, a.h, http.MethodPost, Prefix+"/conversations", map[string]any{}, ann)).ID
				}
				ctx, cancel := context.WithCancel(annCtx)
				defer cancel()
				done := make(chan error, 1)
				go func() {
					defer func() {
						if r := recover(); r != nil {
							done <- fmt.Errorf("panicked: %v", r)
						}
					}()
					_, err := a.svc.Chat(ctx, ChatParams{Prompt: "first", ConversationID: id})
					done <- err
				}()
				select {
				case <-held.entered: // A's prompt is with the provider
				case err := <-done:
					t.Fatalf("A's prompt did not reach the provider: %v", err)
				}
				if tc.fresh {
					cs, err := b.svc.Conversations(annCtx, 1, 0)
					if err != nil || len(cs) != 1 {
						t.Fatalf("the conversation A started: %v, %v", cs, err)
					}
					id = cs[0].ID
				}
				for _, stream := range []bool{false, true} {
					rec := send(t, b.h, http.MethodPost, ChatPath, map[string]any{"prompt": "second", "conversation_id": id, "stream": stream}, ann)
					wantBusy(t, fmt.Sprintf("B while A answers (stream %v)", stream), rec)
				}
				if _, err := b.svc.Chat(annCtx, ChatParams{Prompt: "second", ConversationID: id}); !errors.Is(err, ErrConversationBusy) {
					t.Errorf("B's Chat while A answers: %v, want ErrConversationBusy", err)
				}
				if rec := send(t, b.h, http.MethodPost, ChatPath, map[string]any{"prompt": "meanwhile", "conversation_id": other.ID}, ann); rec.Code != http.StatusOK {
					t.Errorf("B, another conversation, while A answers: %d %s", rec.Code, rec.Body)
				}
				tc.end(cancel)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("A's answer did not end")
				}
				if rec := send(t, b.h, http.MethodPost, ChatPath, map[string]any{"prompt": "second", "conversation_id": id}, ann); rec.Code != http.StatusOK {
					t.Fatalf("B once A's answer ended: %d %s", rec.Code, rec.Body)
				}
				if got := messagesOf(t, db, id); got != tc.want {
					t.Errorf("messages %q, want %q", got, tc.want)
				}
			})
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_conversations WHERE answering_until IS NOT NULL"); n != 0 {
			t.Errorf("%d conversations still claimed once every answer ended", n)
		}
	})
}

// TestConversationLeaseExpires: a lease whose time is up (its instance died mid-answer, and
// nothing cleared it) does not hold the conversation; one still running does, whoever set it.
func TestConversationLeaseExpires(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		inst := newInstance(t, db, hookProvider{during: func(context.Context) {}})
		ann := map[string]string{"X-Test-User": "ann"}
		for _, tc := range []struct {
			name  string
			lease time.Duration // from now
			want  int
		}{
			{"lease up", -time.Second, http.StatusOK},
			{"lease up long ago", -24 * time.Hour, http.StatusOK},
			{"lease running", time.Minute, http.StatusConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := decode[Conversation](t, send(t, inst.h, http.MethodPost, Prefix+"/conversations", map[string]any{}, ann)).ID
				if _, err := db.Bun().NewUpdate().Model((*Conversation)(nil)).Set("answering_until = ?", time.Now().UTC().Add(tc.lease)).
					Where("id = ?", id).Exec(t.Context()); err != nil {
					t.Fatal(err)
				}
				rec := send(t, inst.h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "conversation_id": id}, ann)
				if tc.want == http.StatusConflict {
					wantBusy(t, "a running lease", rec)
					return
				}
				if rec.Code != tc.want {
					t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.want)
				}
				if n := countRows(t, db, fmt.Sprintf("SELECT COUNT(*) FROM ai_conversations WHERE id = %d AND answering_until IS NULL", id)); n != 1 {
					t.Errorf("the answer ended but its lease is still set")
				}
			})
		}
	})
}

// TestConversationClaimOneWinner: instances that claim a free conversation at the same time
// (two pools on one database, several claims each) get it once: the conditional UPDATE is
// what decides, not a read before it.
func TestConversationClaimOneWinner(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		stores := []*store{{db: db.Bun(), now: time.Now}, {db: openAgain(t, db).Bun(), now: time.Now}}
		c, err := stores[0].createConversation(t.Context(), "ann", "t", "default", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		start := make(chan struct{})
		won := make(chan bool, 8)
		for i := range cap(won) {
			go func() {
				<-start
				ok, err := stores[i%2].claimConversation(t.Context(), c.ID, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				won <- ok
			}()
		}
		close(start)
		var winners int
		for range cap(won) {
			if <-won {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("%d claims won the conversation, want 1", winners)
		}
	})
}

// TestConversationClaimGone: a conversation deleted between the prompt's check that it is the
// caller's and its claim is missing, a 404 at once. The claim's UPDATE changes no row either
// way, and was taken for a lease held by another: a 409 saying to retry, whose retry then
// found the conversation missing.
func TestConversationClaimGone(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		inst := newInstance(t, db, hookProvider{during: func(context.Context) {}})
		h := &handlers{svc: inst.svc}
		for _, tc := range []struct {
			name string
			// before readies conversation id before the claim.
			before func(t *testing.T, id int64)
			// id is the conversation claimed instead of the one created (0: that one).
			id     int64
			want   error
			status int
		}{
			{"free", func(*testing.T, int64) {}, 0, nil, 0},
			{"held", func(t *testing.T, id int64) {
				if _, err := inst.svc.claim(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}, 0, ErrConversationBusy, http.StatusConflict},
			{"deleted", func(t *testing.T, id int64) {
				if err := inst.svc.store.deleteConversation(t.Context(), id, "ann"); err != nil {
					t.Fatal(err)
				}
			}, 0, ErrNotFound, http.StatusNotFound},
			{"deleted while held", func(t *testing.T, id int64) {
				if _, err := inst.svc.claim(t.Context(), id); err != nil {
					t.Fatal(err)
				}
				if err := inst.svc.store.deleteConversation(t.Context(), id, "ann"); err != nil {
					t.Fatal(err)
				}
			}, 0, ErrNotFound, http.StatusNotFound},
			{"never existed", func(*testing.T, int64) {}, 1 << 40, ErrNotFound, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := inst.svc.store.createConversation(t.Context(), "ann", "t", "default", nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				tc.before(t, c.ID)
				id := cmp.Or(tc.id, c.ID)
				_, err = inst.svc.claim(t.Context(), id)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("claim: %v, want %v", err, tc.want)
				}
				if tc.want == ErrNotFound && errors.Is(err, ErrConversationBusy) {
					t.Errorf("claim: %v, is also busy", err)
				}
				if err == nil {
					return
				}
				var se huma.StatusError
				if !errors.As(h.problem(t.Context(), err), &se) || se.GetStatus() != tc.status {
					t.Errorf("problem of %v: %v, want status %d", err, se, tc.status)
				}
			})
		}
	})
}

// TestConversationLeaseUncertainRenewal: a renewal whose outcome is unknown (the database
// applied the UPDATE, then the connection failed before its answer) leaves the lease at an
// end this answer never learnt. keepLease keeps that end among those the lease may have, so
// the next renewal and the release still find the lease this answer's; they compared with
// the last end known alone, and the next renewal took the lease for another instance's.
func TestConversationLeaseUncertainRenewal(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		inst := newInstance(t, db, hookProvider{during: func(context.Context) {}})
		st := inst.svc.store
		c, err := st.createConversation(t.Context(), "ann", "t", "default", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		until, err := inst.svc.claim(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The renewal applied, its answer lost: the answer still knows only until.
		lost := until.Add(time.Second)
		if ok, err := st.renewConversation(t.Context(), c.ID, []time.Time{until}, lost); !ok || err != nil {
			t.Fatalf("first renewal: %v %v", ok, err)
		}
		next := lost.Add(time.Second)
		if ok, err := st.renewConversation(t.Context(), c.ID, []time.Time{until, lost}, next); !ok || err != nil {
			t.Fatalf("renewal after one of unknown outcome: %v %v, want the lease still this answer's", ok, err)
		}
		// Another instance is still refused; the release with the ends the answer may hold
		// frees it.
		if _, err := inst.svc.claim(t.Context(), c.ID); !errors.Is(err, ErrConversationBusy) {
			t.Fatalf("claim while held: %v, want busy", err)
		}
		if err := st.releaseConversation(t.Context(), c.ID, []time.Time{lost, next.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := inst.svc.claim(t.Context(), c.ID); !errors.Is(err, ErrConversationBusy) {
			t.Fatalf("claim after a release that held the wrong ends: %v, want busy", err)
		}
		if err := st.releaseConversation(t.Context(), c.ID, []time.Time{lost, next}); err != nil {
			t.Fatal(err)
		}
		if _, err := inst.svc.claim(t.Context(), c.ID); err != nil {
			t.Fatalf("claim after the release: %v", err)
		}
	})
}
