package database_test

import (
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// TestURLErrorsHideSecrets: a DATABASE_URL that is wrong in any way is
// named in the error, never printed: it may hold a password, and errors end
// up in logs and CI output. Parsers quote their input (url.Parse, pgx), so
// their messages must not be passed on either.
func TestURLErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const marker = "SECRET3"
	urls := []string{
		"host=db.internal user=app password=" + marker + " dbname=app",
		"postgres://app:" + marker + "@db.internal:5432/app?sslmode=bogus",
		"postgres://app:" + marker + "@db.internal:notaport/app",
		"postgres://app:" + marker + "@[::1/app",
		"postgres://app:p%zz" + marker + "@db.internal/app",
		"mysql://app:" + marker + "@db.internal/app",
		"sqlite://data/app.db?%zz=" + marker,
		"sqlite://?password=" + marker,
		"postgres://app:" + marker + "@db.internal:5432/app?connect_timeout=abc",
		marker,
		"://" + marker,
	}
	for _, u := range urls {
		s := database.Settings{URL: u}.WithDefaults()
		db, err := database.Open(t.Context(), s)
		if err == nil {
			db.Close()
		}
		logtest.HideSecret(t, u, marker, "DATABASE_URL", s.Validate(), err)
	}
}
