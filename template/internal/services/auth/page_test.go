package auth

import (
	"errors"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestListPageOverflow: (page-1)*per_page overflowed int64 for huge pages
// and wrapped round to an early page's rows (page=4611686018427387906 with 4
// per page showed page 2). List refuses pages past backend.MaxPage, from the
// API, the CLI and the panel alike.
func TestListPageOverflow(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		for _, p := range []ListUsersParams{
			{Page: 4611686018427387906, PerPage: 4},
			{Page: 461168601842738790, PerPage: 20},
			{Page: backend.MaxPage + 1, PerPage: 1},
		} {
			res, err := f.users.List(t.Context(), p)
			if !errors.Is(err, backend.ErrPageOutOfRange) {
				t.Errorf("List(page %d, per page %d) = %+v, %v; want ErrPageOutOfRange", p.Page, p.PerPage, res, err)
			}
		}
		if _, err := f.users.List(t.Context(), ListUsersParams{Page: backend.MaxPage, PerPage: MaxPageSize}); err != nil {
			t.Errorf("List at MaxPage: %v", err)
		}
	})
}
