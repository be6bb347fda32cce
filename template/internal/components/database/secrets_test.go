package database_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
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
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		s := database.Settings{URL: u}.WithDefaults()
		errs := []error{s.Validate()}
		db, err := database.Open(t.Context(), s)
		if err == nil {
			db.Close()
		}
		errs = append(errs, err)
		for _, e := range errs {
			if e == nil {
				t.Errorf("%q: no error, want one", strings.ReplaceAll(u, marker, "<marker>"))
				continue
			}
			logger.Error("config", "err", e)
			if !strings.Contains(e.Error(), "DATABASE_URL") {
				t.Errorf("error %q does not name DATABASE_URL", e)
			}
		}
		if strings.Contains(logs.String(), marker) {
			t.Errorf("an error shows the secret:\n%s", logs.String())
		}
	}
}
