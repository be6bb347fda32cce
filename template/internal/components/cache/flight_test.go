package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
)

// TestSingleFlightContextErrors checks who computes again after a compute that
// failed with a context error: the followers, when the leader's own ctx ended
// (the error is not theirs); nobody, when compute's own deadline passed while the
// leader's ctx was live (an API call that timed out). Retrying that one made each
// follower wait for one more timeout per follower before it.
func TestSingleFlightContextErrors(t *testing.T) {
	timedOut := fmt.Errorf("call the API: %w", context.DeadlineExceeded)
	tests := []struct {
		name         string
		cancelLeader bool  // the leader's ctx ends while compute runs
		leaderErr    error // what the leader's compute returns
		wantCalls    int32 // calls of compute, the leader's included
		wantFollower error // nil: the follower computes its own value
	}{
		{name: "leader canceled", cancelLeader: true, leaderErr: context.Canceled, wantCalls: 2},
		{name: "compute timed out", leaderErr: timedOut, wantCalls: 1, wantFollower: context.DeadlineExceeded},
		{name: "compute canceled on its own", leaderErr: context.Canceled, wantCalls: 1, wantFollower: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The leader reads twice (its miss, then a check as leader), the
			// follower once before it waits: three reads, then the follower is
			// about to wait.
			gets := make(chan struct{}, 8)
			c := cache.New(readSignal{Store: cache.NewMemory(nil), gets: gets}, nil)
			t.Cleanup(func() { _ = c.Stop(context.Background()) })
			var calls atomic.Int32
			leaderCtx, cancelLeader := context.WithCancel(t.Context())
			defer cancelLeader()
			entered, release := make(chan struct{}), make(chan struct{})
			leaderDone := make(chan error, 1)
			go func() {
				_, err := cache.GetOrCompute(leaderCtx, c, "k", time.Minute, func(ctx context.Context) (string, error) {
					calls.Add(1)
					close(entered)
					if tt.cancelLeader {
						<-ctx.Done()
					} else {
						<-release
					}
					return "", tt.leaderErr
				})
				leaderDone <- err
			}()
			<-entered
			followerDone := make(chan struct{})
			var got string
			var err error
			go func() {
				defer close(followerDone)
				got, err = cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (string, error) {
					calls.Add(1)
					return "from follower", nil
				})
			}()
			for range 3 {
				<-gets
			}
			time.Sleep(50 * time.Millisecond) // from its read to its wait
			if tt.cancelLeader {
				cancelLeader()
			} else {
				close(release)
			}
			if err := <-leaderDone; !errors.Is(err, tt.leaderErr) {
				t.Fatalf("leader error = %v, want %v", err, tt.leaderErr)
			}
			<-followerDone
			if tt.wantFollower == nil {
				if err != nil || got != "from follower" {
					t.Fatalf("follower got %q, %v; want its own computed value", got, err)
				}
			} else if !errors.Is(err, tt.wantFollower) {
				t.Fatalf("follower got %q, %v; want the leader's error %v", got, err, tt.wantFollower)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Fatalf("compute ran %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

// readSignal is a Store that sends on gets after each read.
type readSignal struct {
	cache.Store
	gets chan struct{}
}

func (s readSignal) Get(ctx context.Context, key string) ([]byte, bool, error) {
	defer func() { s.gets <- struct{}{} }()
	return s.Store.Get(ctx, key)
}

// TestComputePanics: a compute that panics panics in the goroutine that ran it, with
// its own value, as it would without the cache (the app's recovery middleware sees
// it); the calls waiting on it get an error instead of hanging or panicking in their
// turn, and the key is free for the next call.
func TestComputePanics(t *testing.T) {
	t.Parallel()
	gets := make(chan struct{}, 8)
	c := cache.New(readSignal{Store: cache.NewMemory(nil), gets: gets}, nil)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	entered, release := make(chan struct{}), make(chan struct{})
	leaderPanic := make(chan any, 1)
	go func() {
		defer func() { leaderPanic <- recover() }()
		_, _ = cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (string, error) {
			close(entered)
			<-release
			panic("boom")
		})
	}()
	<-entered
	followerErr := make(chan error, 1)
	go func() {
		_, err := cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (string, error) {
			return "from follower", nil
		})
		followerErr <- err
	}()
	for range 3 { // the leader's two reads, the follower's one
		<-gets
	}
	time.Sleep(50 * time.Millisecond) // from its read to its wait
	close(release)
	if p := <-leaderPanic; p != "boom" {
		t.Fatalf("leader recovered %v, want its compute's panic \"boom\"", p)
	}
	select {
	case err := <-followerErr:
		if err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Fatalf("follower error = %v, want one saying compute panicked", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the follower still waits for a compute that panicked")
	}
	v, err := cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (string, error) { return "again", nil })
	if err != nil || v != "again" {
		t.Fatalf("GetOrCompute after the panic = %q, %v; want a fresh computation", v, err)
	}
}
