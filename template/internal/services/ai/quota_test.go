package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestQuotaParallel: parallel chats of one user near the daily quota share what is left of
// it. Each used to read the same tokens spent and cap its answer to the whole rest, so n
// parallel calls overshot the quota by up to n answers; now the quota is overshot by the
// calls' input tokens at most, and a call that finds nothing left is refused (429).
func TestQuotaParallel(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		const (
			quota, spent = 1000, 500
			parallel     = 8
		)
		// The provider holds every call until each chat has reached it or been refused, then
		// answers with as many tokens as it was allowed (max_completion_tokens).
		arrived := make(chan struct{}, parallel)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var body struct {
				Model     string `json:"model"`
				MaxTokens int64  `json:"max_completion_tokens"`
			}
			_ = json.Unmarshal(b, &body)
			arrived <- struct{}{}
			<-release
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"words"},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":%d}}`,
				body.Model, body.MaxTokens, 10+body.MaxTokens)
		}))
		t.Cleanup(srv.Close)
		s := Settings{Provider: ProviderOpenAI, Model: "gpt-4o-mini", OpenAIKey: "sk-secret", OpenAIBaseURL: srv.URL + "/v1",
			DailyTokenQuota: quota, MaxOutputTokens: 300}
		svc, err := New(db, s, &Opts{Identity: headerIdentity{}, Clients: testClients(t, 1), Now: middayClock()})
		if err != nil {
			t.Fatal(err)
		}
		user := "parallel-" + string(db.Engine())
		now := middayClock()()
		if err := svc.store.recordUsage(t.Context(), &UsageRecord{At: now, Day: now.Format(time.DateOnly), UserID: user, Kind: "chat",
			Profile: DefaultProfile, Provider: ProviderOpenAI, Model: "gpt-4o-mini", InputTokens: 100, OutputTokens: spent - 100, Status: "ok"}); err != nil {
			t.Fatal(err)
		}
		ctx := context.WithValue(t.Context(), testUserKey{}, user)
		refused := make(chan struct{}, parallel)
		errs := make([]error, parallel)
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Go(func() {
				_, errs[i] = svc.Chat(ctx, ChatParams{Prompt: "tell me a long story"})
				var qe *QuotaError
				if errors.As(errs[i], &qe) {
					refused <- struct{}{}
				}
			})
		}
		for range parallel {
			select {
			case <-arrived:
			case <-refused:
			}
		}
		close(release)
		wg.Wait()
		var answered int
		for _, err := range errs {
			var qe *QuotaError
			switch {
			case err == nil:
				answered++
			case !errors.As(err, &qe):
				t.Fatalf("chat: %v", err)
			}
		}
		var used, input int64
		if err := db.Bun().NewSelect().Model((*UsageRecord)(nil)).ColumnExpr("SUM(input_tokens + output_tokens), SUM(input_tokens)").
			Where("user_id = ?", user).Scan(t.Context(), &used, &input); err != nil {
			t.Fatal(err)
		}
		if answered == 0 || used > quota+input {
			t.Fatalf("%d parallel chats answered, %d refused: %d tokens spent of a quota of %d (inputs %d)", answered, parallel-answered, used, quota, input)
		}
	})
}

// TestQuotaPanicReleases: a provider that panics mid-answer gives its reservation of the
// user's quota back; it would otherwise be held for the life of the process, and the user
// refused once a few such calls had reserved the whole quota.
func TestQuotaPanicReleases(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	svc, err := New(db, Settings{Provider: ProviderOpenAI, Model: "gpt-4o-mini", OpenAIKey: "sk-secret", DailyTokenQuota: 1000},
		&Opts{Identity: headerIdentity{}, Clients: testClients(t, 1), Providers: map[string]Provider{ProviderOpenAI: panicProvider{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(t.Context(), testUserKey{}, "panicking")
	func() {
		defer func() { _ = recover() }()
		_, _ = svc.Chat(ctx, ChatParams{Prompt: "hi", OnDelta: func(string) error { return nil }})
	}()
	if _, reserved := svc.quotaBook("panicking"); reserved != 0 {
		t.Fatalf("%d tokens still reserved after the call panicked", reserved)
	}
}

// TestQuotaHeldByCallsUnderWay: a chat refused because the user's calls under way hold what
// is left of the quota is told to retry once they end (Retry-After: 30), not at midnight as
// when the quota is spent: they give back what they do not use.
func TestQuotaHeldByCallsUnderWay(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`)
	}))
	t.Cleanup(srv.Close)
	f := &fakeProvider{t: t, srv: srv}
	svc, h := setup(t, db, f, Settings{DailyTokenQuota: 300, MaxOutputTokens: 300}, &Opts{Identity: headerIdentity{}, Now: middayClock()})
	done := make(chan error, 1)
	go func() {
		_, err := svc.Chat(context.WithValue(t.Context(), testUserKey{}, "holder"), ChatParams{Prompt: "hi"})
		done <- err
	}()
	<-arrived
	rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, map[string]string{"X-Test-User": "holder"})
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), "under way") {
		t.Fatalf("%d, Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
