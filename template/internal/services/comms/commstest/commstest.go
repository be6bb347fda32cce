// Package commstest holds the conformance suite every comms.Store passes: the in-memory
// ring and the database store run the same tests.
package commstest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// StoreSuite runs the Store contract against the stores newStore makes (a fresh, empty one
// per call).
func StoreSuite(t *testing.T, newStore func(t *testing.T) comms.Store) {
	t.Run("AddGetUpdate", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		email := &comms.Message{From: "App <noreply@example.com>", To: []string{"ada@example.com"}, Bcc: []string{"bob@example.com"},
			Subject: "Hello", Text: "hi", HTML: "<p>hi</p>", Headers: map[string]string{"X-Tag": "t"},
			Attachments: []comms.Attachment{{Filename: "a.bin", ContentType: "application/octet-stream", Content: []byte{0, 1, 2, 255}}}}
		r := comms.Record{ID: "0001", Channel: comms.ChannelEmail, Status: comms.StatusQueued, CreatedAt: at, UpdatedAt: at, Email: email}
		if err := s.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "0001")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != comms.StatusQueued || got.Channel != comms.ChannelEmail || !got.CreatedAt.Equal(at) || got.Email == nil ||
			got.Email.Subject != "Hello" || got.Email.Bcc[0] != "bob@example.com" || string(got.Email.Attachments[0].Content) != "\x00\x01\x02\xff" ||
			got.Email.Headers["X-Tag"] != "t" {
			t.Fatalf("Get after Add = %+v", got)
		}
		if err := s.Update(ctx, "0001", comms.Update{Status: comms.StatusFailed, Provider: "smtp", Error: "down", Attempt: true, At: at.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, "0001", comms.Update{Status: comms.StatusSent, Provider: "smtp", ProviderID: "abc@host", Attempt: true, At: at.Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		got, err = s.Get(ctx, "0001")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != comms.StatusSent || got.Attempts != 2 || got.Error != "" || got.ProviderID != "abc@host" || got.Provider != "smtp" ||
			!got.SentAt.Equal(at.Add(2*time.Second)) || !got.UpdatedAt.Equal(at.Add(2*time.Second)) {
			t.Fatalf("after failed then sent: %+v", got)
		}
	})
	t.Run("ReplaceEmail", func(t *testing.T) {
		// A sensitive message loses its bodies with its "sent" update (Update.Email), in one
		// call; a failed attempt before it leaves the body in place.
		s := newStore(t)
		ctx := t.Context()
		at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		const secret = "https://app.test/reset?token=s3cr3t"
		email := &comms.Message{From: "noreply@example.com", To: []string{"ada@example.com"}, Subject: "Reset your password",
			Text: "Open " + secret, HTML: `<a href="` + secret + `">reset</a>`, Headers: map[string]string{"X-Link": secret},
			Sensitive: "the password reset link", Template: "password-reset",
			Attachments: []comms.Attachment{{Filename: "note.txt", ContentType: "text/plain", Content: []byte(secret)}}}
		if err := s.Add(ctx, comms.Record{ID: "0001", Channel: comms.ChannelEmail, Status: comms.StatusQueued, CreatedAt: at, UpdatedAt: at, Email: email}); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, "0001", comms.Update{Status: comms.StatusQueued, Provider: "smtp", Error: "down", Attempt: true, At: at.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "0001"); err != nil || got.Email.Text != email.Text || got.Email.Sensitive != email.Sensitive || got.Email.Redacted {
			t.Fatalf("after a failed attempt: %+v, %v", got.Email, err)
		}
		if err := s.Update(ctx, "0001", comms.Update{Status: comms.StatusSent, Provider: "smtp", ProviderID: "id@host", Attempt: true,
			At: at.Add(2 * time.Second), Email: email.Redact()}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "0001")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", *got.Email) != fmt.Sprintf("%+v", *email.Redact()) {
			t.Errorf("stored email after redaction:\n%+v\nwant\n%+v", *got.Email, *email.Redact())
		}
		if got.Status != comms.StatusSent || got.Attempts != 2 || got.ProviderID != "id@host" || !got.SentAt.Equal(at.Add(2*time.Second)) ||
			!got.Email.Redacted || got.Email.Text != "" || got.Email.HTML != "" || got.Email.Headers != nil ||
			got.Email.Subject != "Reset your password" || got.Email.To[0] != "ada@example.com" || got.Email.Template != "password-reset" ||
			got.Email.Attachments[0].Filename != "note.txt" || got.Email.Attachments[0].Len() != int64(len(secret)) {
			t.Fatalf("after sent with the redacted copy: %+v %+v", got, got.Email)
		}
		for _, p := range []comms.ListParams{{}, {Status: comms.StatusSent}} {
			list, err := s.List(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || strings.Contains(fmt.Sprintf("%+v", *list[0].Email), "s3cr3t") {
				t.Errorf("List holds the secret: %+v", list)
			}
		}
		// An SMS has no email to replace.
		if err := s.Add(ctx, comms.Record{ID: "0002", Channel: comms.ChannelSMS, Status: comms.StatusQueued, CreatedAt: at, UpdatedAt: at,
			SMS: &comms.SMS{To: "+14155550123", Body: "hi"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, "0002", comms.Update{Status: comms.StatusSent, At: at, Email: email.Redact()}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "0002"); err != nil || got.Email != nil || got.SMS == nil || got.SMS.Body != "hi" {
			t.Errorf("SMS after an update with an email: %+v, %v", got, err)
		}
		// A sensitive SMS loses its body with its "sent" update; an email ignores an SMS.
		sms := &comms.SMS{To: "+14155550123", Body: "Your code is 424242", Sensitive: "a sign-in code"}
		if err := s.Add(ctx, comms.Record{ID: "0003", Channel: comms.ChannelSMS, Status: comms.StatusQueued, CreatedAt: at, UpdatedAt: at, SMS: sms}); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, "0003", comms.Update{Status: comms.StatusSent, Provider: "twilio", At: at, SMS: sms.Redact()}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "0003"); err != nil || got.SMS == nil || *got.SMS != *sms.Redact() || got.Status != comms.StatusSent {
			t.Errorf("sensitive SMS after sent with the redacted copy: %+v, %v", got, err)
		}
		if err := s.Update(ctx, "0001", comms.Update{Status: comms.StatusSent, At: at, SMS: sms.Redact()}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "0001"); err != nil || got.SMS != nil || got.Email == nil || got.Email.Subject != "Reset your password" {
			t.Errorf("email after an update with an SMS: %+v, %v", got, err)
		}
		list, err := s.List(ctx, comms.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.SMS != nil && strings.Contains(r.SMS.Body, "424242") {
				t.Errorf("List holds the code: %+v", r.SMS)
			}
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(t.Context(), "nope"); !errors.Is(err, comms.ErrNotFound) {
			t.Errorf("Get unknown = %v, want ErrNotFound", err)
		}
		if err := s.Update(t.Context(), "nope", comms.Update{Status: comms.StatusSent, At: time.Now()}); !errors.Is(err, comms.ErrNotFound) {
			t.Errorf("Update unknown = %v, want ErrNotFound", err)
		}
	})
	t.Run("ListCount", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		base := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
		for i := range 5 {
			st := comms.StatusSent
			if i%2 == 1 {
				st = comms.StatusFailed
			}
			r := comms.Record{ID: comms.ID(fmt.Sprintf("%04d", i)), Channel: comms.ChannelSMS, Status: st,
				CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base, SMS: &comms.SMS{To: "+14155550123", Body: fmt.Sprint(i)}}
			if err := s.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.List(ctx, comms.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 || all[0].ID != "0004" || all[4].ID != "0000" || all[0].SMS == nil || all[0].SMS.Body != "4" {
			t.Fatalf("List = %v, want 5 newest first", ids(all))
		}
		failed, err := s.List(ctx, comms.ListParams{Status: comms.StatusFailed, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].ID != "0003" {
			t.Fatalf("List failed, limit 1 = %v", ids(failed))
		}
		c, err := s.Count(ctx, base.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if c.ByStatus[comms.StatusSent] != 2 || c.ByStatus[comms.StatusFailed] != 1 {
			t.Fatalf("Count since 1m30 = %v, want 2 sent (2, 4), 1 failed (3)", c.ByStatus)
		}
	})
}

func ids(rs []comms.Record) []comms.ID {
	out := make([]comms.ID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
