package worker

import (
	"context"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestEnqueueOnlyHealthSeesWorkerProcesses: a serve with WORKER_IN_PROCESS=false said
// "enqueue only", healthy, whether or not any worker process ran, so /health/detailed and the
// dashboard could not tell a backlog that nobody works. It now reports whether a worker
// process holds River's leadership, and is degraded when jobs wait with none running.
func TestEnqueueOnlyHealthSeesWorkerProcesses(t *testing.T) {
	db := databasetest.New(t, database.Postgres)
	serve, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serve.Enqueue(t.Context(), okArgs{Token: token(t)}, nil); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		startWorker bool
		seen        bool
		status      registry.Status
	}{
		{"no worker process, a job waiting", false, false, registry.StatusDegraded},
		{"a worker process running", true, true, registry.StatusHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.startWorker {
				setup(t, db, testSettings())
			}
			deadline := time.Now().Add(40 * time.Second)
			for {
				h := serve.CheckHealth(context.Background())
				if h.Details["workers_seen"] == tt.seen && h.Status == tt.status {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("health = %s %q %v, want workers_seen=%v and %s", h.Status, h.Message, h.Details, tt.seen, tt.status)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
