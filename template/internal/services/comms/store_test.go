package comms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/commstest"
)

func TestMemoryStore(t *testing.T) {
	commstest.StoreSuite(t, func(*testing.T) comms.Store { return comms.NewMemoryStore(10) })
}

// The ring keeps the newest messages: the oldest goes when a new one would exceed the size.
func TestMemoryStoreRing(t *testing.T) {
	s := comms.NewMemoryStore(3)
	ctx := context.Background()
	for i := range 5 {
		if err := s.Add(ctx, comms.Record{ID: comms.ID(fmt.Sprint(i)), Status: comms.StatusQueued, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := s.List(ctx, comms.ListParams{})
	if len(list) != 3 || list[0].ID != "4" || list[2].ID != "2" {
		t.Fatalf("ring after 5 adds = %v", list)
	}
	if _, err := s.Get(ctx, "1"); err == nil {
		t.Error("the evicted message is still there")
	}
}
