package analytics

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestTrackRefusesNUL: an event from code whose properties or user hold a NUL character
// (U+0000), at any depth, is counted as invalid and not stored, like one with a bad name;
// the events around it are stored.
func TestTrackRefusesNUL(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{FlushInterval: time.Hour}, nil)
		tests := []struct {
			name  string
			ctx   context.Context
			props map[string]any
		}{
			{"string value", t.Context(), map[string]any{"a": "b\x00c"}},
			{"key", t.Context(), map[string]any{"a\x00": "b"}},
			{"nested map", t.Context(), map[string]any{"m": map[string]any{"k": "v\x00"}}},
			{"slice", t.Context(), map[string]any{"l": []any{"ok", "x\x00"}}},
			{"string slice", t.Context(), map[string]any{"l": []string{"x\x00"}}},
			{"string map", t.Context(), map[string]any{"m": map[string]string{"k": "\x00"}}},
			{"user", WithUser(t.Context(), "u\x00"), nil},
		}
		svc.Track(t.Context(), "before", map[string]any{"a": "b"})
		for i, tt := range tests {
			svc.Track(tt.ctx, "bad", tt.props)
			if got := svc.Stats().Invalid; got != int64(i+1) {
				t.Errorf("%s: invalid = %d, want %d", tt.name, got, i+1)
			}
		}
		svc.Track(t.Context(), "after", map[string]any{"nested": map[string]any{"fine": []any{"yes", 1}}})
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := storedEvents(t, db); n != 2 {
			t.Errorf("stored %d events, want the 2 good ones", n)
		}
		if st := svc.Stats(); st.Tracked != 2 || st.Stored != 2 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestFlushDropsRefusedRows: an event that reaches the store although the database cannot
// store it (a NUL in a value Track does not look into, here put in the buffer directly) is
// dropped and counted as refused on PostgreSQL, and the rest of its batch is stored; the
// next batches are stored too instead of failing behind it. SQLite stores a NUL.
func TestFlushDropsRefusedRows(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{BufferSize: 10, FlushInterval: time.Hour}, nil)
		now := time.Now().UTC()
		bad := func(i int) Event {
			return Event{Name: "bad", Props: map[string]any{"v": struct{ S string }{"x\x00" + string(rune('a'+i))}}, At: now}
		}
		var evs []Event
		for i := range 25 {
			if i == 3 || i == 17 || i == 18 {
				evs = append(evs, bad(i))
				continue
			}
			evs = append(evs, Event{Name: "good", Props: map[string]any{"i": i}, At: now})
		}
		svc.mu.Lock()
		svc.buf = append(svc.buf, evs...)
		svc.mu.Unlock()
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatalf("flush: %v", err)
		}
		svc.Track(t.Context(), "later", nil)
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatalf("the flush after: %v", err)
		}
		wantStored, wantRefused := int64(26), int64(0)
		if db.Engine() == database.Postgres {
			wantStored, wantRefused = 23, 3
		}
		if n, h := storedEvents(t, db), hourlyTotal(t, db); n != wantStored || h != wantStored {
			t.Errorf("stored %d events, hourly total %d; want %d", n, h, wantStored)
		}
		st := svc.Stats()
		if st.Stored != wantStored || st.Refused != wantRefused || st.Dropped != wantRefused || st.Pending != 0 {
			t.Errorf("stats %+v; want %d stored, %d refused and dropped, none pending", st, wantStored, wantRefused)
		}
		h := svc.CheckHealth(t.Context())
		if h.Details["refused"] != wantRefused {
			t.Errorf("health details %v: refused, want %d", h.Details, wantRefused)
		}
		if wantRefused > 0 && (h.Status != registry.StatusDegraded || !strings.Contains(h.Message, "3 refused by the database")) {
			t.Errorf("health %s %q, want degraded naming the refused events", h.Status, h.Message)
		}
	})
}

// TestTrackRefusesNonFinite: an event from code whose properties hold NaN or an infinite
// number, at any depth, is refused at once (TrackEvent reports false) and counted as invalid,
// not tracked: JSON cannot carry it, so it was accepted, counted as tracked, and lost at the
// write.
func TestTrackRefusesNonFinite(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	svc := newService(t, db, Settings{FlushInterval: time.Hour}, nil)
	for i, tt := range []struct {
		name  string
		props map[string]any
	}{
		{"NaN", map[string]any{"ratio": math.NaN()}},
		{"+Inf", map[string]any{"ratio": math.Inf(1)}},
		{"-Inf float32", map[string]any{"ratio": float32(math.Inf(-1))}},
		{"nested map", map[string]any{"m": map[string]any{"r": math.NaN()}}},
		{"slice", map[string]any{"l": []any{1.0, math.Inf(1)}}},
		{"float slice", map[string]any{"l": []float64{math.NaN()}}},
		{"float map", map[string]any{"m": map[string]float64{"r": math.Inf(1)}}},
	} {
		if svc.TrackEvent(Event{Name: "bad", Props: tt.props}) {
			t.Errorf("%s: TrackEvent reported the event kept", tt.name)
		}
		if st := svc.Stats(); st.Invalid != int64(i+1) || st.Tracked != 0 {
			t.Errorf("%s: stats %+v, want %d invalid and none tracked", tt.name, st, i+1)
		}
	}
	if !svc.TrackEvent(Event{Name: "fine", Props: map[string]any{"n": -1.5, "z": 0.0, "big": math.MaxFloat64}}) {
		t.Error("an event of finite numbers, negative and large among them, was refused")
	}
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := svc.Stats(); st.Stored != 1 || st.Invalid != 7 {
		t.Errorf("stats %+v, want the finite event stored", st)
	}
}
