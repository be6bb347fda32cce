package frontend

import "testing"

// TestSafeNext keeps the redirect after a login on this site.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "/",
		"/dashboard/graph":  "/dashboard/graph",
		"/?x=1":             "/?x=1",
		"//evil.example":    "/",
		"/\\evil.example":   "/",
		"https://evil.test": "/",
		"javascript:alert":  "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
