package comms

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// SendNow delivers here and now even with a Dispatcher, and records the message like Send.
func TestSendNowBypassesDispatcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sendErr    error
		wantStatus Status
	}{
		{"delivered", nil, StatusSent},
		{"provider fails", errors.New("mailbox unavailable"), StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dispatcher{}
			fake := &fakeEmail{err: tt.sendErr}
			svc, err := New(Settings{}, &Opts{Email: fake, Dispatcher: d})
			if err != nil {
				t.Fatal(err)
			}
			id, err := svc.SendNow(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"})
			if id == "" || !errors.Is(err, tt.sendErr) {
				t.Fatalf("SendNow = %q, %v; want an ID and %v", id, err, tt.sendErr)
			}
			if len(d.ids) != 0 {
				t.Errorf("dispatched %v: SendNow must not queue", d.ids)
			}
			r, err := svc.Message(t.Context(), id)
			if err != nil || r.Status != tt.wantStatus || r.Attempts != 1 || r.Provider != "fake" {
				t.Errorf("record %+v (%v), want %s after one attempt with fake", r, err, tt.wantStatus)
			}
		})
	}
}

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// send-test sends with this process's provider even when a worker would deliver other
// messages, and a failure is one line saying what to check. The commands read the
// environment: not parallel.
func TestSendTestIsSynchronous(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantOut string
		wantErr []string
		is      error
	}{
		{name: "outbox", env: map[string]string{"COMMS_EMAIL_PROVIDER": "outbox"}, wantOut: "kept in the outbox"},
		{name: "unreachable SMTP server",
			env: map[string]string{"COMMS_EMAIL_PROVIDER": "smtp", "COMMS_SMTP_HOST": "127.0.0.1",
				"COMMS_SMTP_PORT": strconv.Itoa(closedPort(t)), "COMMS_SMTP_TLS_POLICY": "none"},
			wantErr: []string{"comms: message ", " not sent with smtp: SMTP server unreachable (127.0.0.1)",
				"; check COMMS_SMTP_HOST and COMMS_SMTP_PORT, and that the server is running"},
			is: ErrSMTPUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			d := &dispatcher{}
			r := registry.New()
			if err := errors.Join(Register(r), httpclient.Register(r), registry.Value[Dispatcher](r, d)); err != nil {
				t.Fatal(err)
			}
			out, _, err := commandtest.Run(t.Context(), r, commsCommand, "send-test", "--to", "ada@example.com")
			if len(d.ids) != 0 {
				t.Errorf("send-test queued %v instead of sending", d.ids)
			}
			if tt.wantErr == nil {
				if err != nil || !strings.Contains(out, tt.wantOut) {
					t.Errorf("send-test: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("send-test succeeded:\n%s", out)
			}
			if !errors.Is(err, tt.is) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "queued") {
				t.Errorf("send-test: %q, want one line matching %v", err, tt.is)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("send-test: %q does not contain %q", err, w)
				}
			}
		})
	}
}
