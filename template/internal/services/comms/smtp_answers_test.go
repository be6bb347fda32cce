package comms

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
)

// An SMTP answer is temporary or permanent by its code, at whatever stage it comes (RFC 5321:
// 4yz try again later, 5yz do not; RFC 4954's 454 for AUTH is temporary too), so the worker
// retries the first and gives up on the second at once. Mailpit's chaos triggers make it
// answer each stage with the code.
func TestSMTPAnswerCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, trigger string
		sentinel      error
		temporary     bool
	}{
		{"sender 451", "Sender:451:100", ErrSMTPRejected, true},
		{"sender 550", "Sender:550:100", ErrSMTPRejected, false},
		{"recipient 452", "Recipient:452:100", ErrSMTPRejected, true},
		{"recipient 550", "Recipient:550:100", ErrSMTPRejected, false},
		{"authentication 454", "Authentication:454:100", ErrSMTPAuth, true},
		{"authentication 535", "Authentication:535:100", ErrSMTPAuth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mp := mailpittest.Start(t, "--chaos-triggers", tt.trigger, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
			p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: mp.SMTPPort, TLSPolicy: TLSNone,
				Username: "ada", Password: "correct-horse", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.SendEmail(t.Context(), &Message{From: "app@example.com", To: []string{"ada@example.com"}, Subject: tt.name, Text: "hello"})
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v, want %v", err, tt.sentinel)
			}
			if got := Temporary(err); got != tt.temporary {
				t.Errorf("Temporary(%v) = %v, want %v", err, got, tt.temporary)
			}
			if n := len(mp.Summaries()); n != 0 {
				t.Errorf("%d messages arrived, want none", n)
			}
		})
	}
}

// A connection that breaks in the middle of a session (the server restarts, a proxy drops
// it) carries no SMTP answer: the server refused nothing, so the send is tried again like
// one to a server that is down, not failed for good as a rejection.
func TestSMTPConnectionLost(t *testing.T) {
	t.Parallel()
	for _, stage := range []string{"MAIL", "RCPT", "DATA", "."} {
		t.Run(stage, func(t *testing.T) {
			t.Parallel()
			port := hangUpAt(t, stage)
			p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: port, TLSPolicy: TLSNone, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.SendEmail(t.Context(), &Message{From: "app@example.com", To: []string{"ada@example.com"}, Subject: "lost", Text: "hello"})
			if err == nil {
				t.Fatal("sent through a server that hung up")
			}
			if !errors.Is(err, ErrSMTPUnreachable) || !Temporary(err) {
				t.Errorf("error %v (temporary %v), want %v, temporary", err, Temporary(err), ErrSMTPUnreachable)
			}
		})
	}
}

// A server that took the message and hangs up at the RSET after it has the message: it is
// sent, not failed (nor retried, which would deliver it twice).
func TestSMTPDeliveredThenConnectionLost(t *testing.T) {
	t.Parallel()
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: hangUpAt(t, "RSET"), TLSPolicy: TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "taken", Text: "hello"})
	if err != nil {
		t.Fatalf("a message the server took: %v", err)
	}
	if r, _ := svc.Message(t.Context(), id); r.Status != StatusSent || r.ProviderID == "" {
		t.Errorf("record %+v, want sent with its Message-ID", r)
	}
}

// hangUpAt runs an SMTP server on a free port that answers every command with success
// until it gets the one named stage ("." is the end of the message's data), then closes
// the connection without answering it.
func hangUpAt(t *testing.T, stage string) int {
	t.Helper()
	return scriptedSMTP(t, func(verb, _ string) (string, bool) { return "", verb == stage })
}

// scriptedSMTP runs an SMTP server on a free port that asks answer for its reply to every
// command (verb upper-cased, "." for the end of the message's data, line as sent): a reply
// of "" is the usual success, hangUp closes the connection without replying.
func scriptedSMTP(t *testing.T, answer func(verb, line string) (reply string, hangUp bool)) int {
	t.Helper()
	return testserver.Serve(t, func(c net.Conn) {
		defer c.Close()
		r, w := bufio.NewReader(c), bufio.NewWriter(c)
		reply := func(s string) {
			_, _ = w.WriteString(s + "\r\n")
			_ = w.Flush()
		}
		reply("220 localhost ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			verb := "."
			switch {
			case inData && line != ".":
				continue
			case !inData:
				verb = strings.ToUpper(strings.SplitN(line, " ", 2)[0])
				if i := strings.IndexByte(verb, ':'); i >= 0 {
					verb = verb[:i]
				}
			}
			answered, hangUp := answer(verb, line)
			if hangUp {
				return
			}
			if answered != "" {
				if verb == "." {
					inData = false
				}
				reply(answered)
				continue
			}
			switch verb {
			case ".":
				inData = false
				reply("250 queued")
			case "EHLO":
				reply("250-localhost\r\n250 8BITMIME")
			case "DATA":
				inData = true
				reply("354 go ahead")
			case "QUIT":
				reply("221 bye")
				return
			default:
				reply("250 ok")
			}
		}
	}).Port
}

// A server whose host name holds "auth" and does not answer is unreachable (temporary), not
// a refusal of the credentials (permanent).
func TestSMTPClassifyHostNamedAuth(t *testing.T) {
	t.Parallel()
	p, err := NewSMTP(SMTPParams{Host: "smtp-auth.example.com", Port: 587})
	if err != nil {
		t.Fatal(err)
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "smtp-auth.example.com", Err: "no such host", IsNotFound: true}}
	if err := p.classify(dial); !errors.Is(err, ErrSMTPUnreachable) || !Temporary(err) {
		t.Errorf("classify(%v) = %v (temporary %v), want %v, temporary", dial, err, Temporary(err), ErrSMTPUnreachable)
	}
}

// An email to more recipients than a server takes in one transaction (Mailpit's 100) was
// refused with a 452 per extra address, a temporary answer, so the worker retried it for
// weeks and it never went out. The service refuses more than MaxRecipients (Resend's and
// Postmark's limit) before recording anything, permanently; up to the limit all arrive.
func TestSMTPManyRecipients(t *testing.T) {
	t.Parallel()
	mp, p := mailpitSMTP(t)
	svc, err := New(Settings{}, &Opts{Email: p})
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.Send(t.Context(), Message{To: addresses(1, 100), Bcc: addresses(101, 101), Subject: "too many", Text: "hello"})
	if !errors.Is(err, ErrTooManyRecipients) || Temporary(err) || id != "" {
		t.Fatalf("Send to 101 = %q, %v (temporary %v); want no message, %v, permanent", id, err, Temporary(err), ErrTooManyRecipients)
	}
	if _, err := svc.Send(t.Context(), Message{To: addresses(1, 30), Cc: addresses(31, 40), Bcc: addresses(41, MaxRecipients), Subject: "at the limit", Text: "hello"}); err != nil {
		t.Fatalf("Send to %d: %v", MaxRecipients, err)
	}
	got := mp.Message("at the limit")
	if n := len(got.To) + len(got.Cc) + len(got.Bcc); n != MaxRecipients {
		t.Errorf("%d recipients arrived, want %d", n, MaxRecipients)
	}
	if list, _ := svc.Messages(t.Context(), ListParams{}); len(list) != 1 {
		t.Errorf("%d messages recorded, want the one sent", len(list))
	}
}

// go-mail keeps the answer to the last refused RCPT only: an email to an address refused for
// good (550) and one refused for now (452, a full mailbox) counted as temporary when the
// full mailbox came last, and the worker retried for weeks a message no attempt could send
// (one refusal aborts the whole transaction). Any permanent refusal makes it permanent,
// whatever the order.
func TestSMTPRecipientsRefusedInPart(t *testing.T) {
	t.Parallel()
	port := refuseRecipients(t, map[string]string{
		"gone@example.com": "550 5.1.1 <gone@example.com>: no such user",
		"full@example.com": "452 4.2.2 <full@example.com>: mailbox full, try again",
		"slow@example.com": `451 4.7.1 <slow@example.com>: greylisted (not a 550 "no such user"), try again`,
	})
	p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: port, TLSPolicy: TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		to, cc    []string
		temporary bool
	}{
		{"gone then full", []string{"gone@example.com"}, []string{"full@example.com"}, false},
		{"full then gone", []string{"full@example.com"}, []string{"gone@example.com"}, false},
		{"ok, gone, full", []string{"ada@example.com", "gone@example.com"}, []string{"full@example.com"}, false},
		{"full and greylisted", []string{"full@example.com"}, []string{"slow@example.com"}, true},
		{"ok and full", []string{"ada@example.com"}, []string{"full@example.com"}, true},
	}
	for _, tt := range tests {
		_, err := p.SendEmail(t.Context(), &Message{From: "app@example.com", To: tt.to, Cc: tt.cc, Subject: tt.name, Text: "hello"})
		if !errors.Is(err, ErrSMTPRejected) || Temporary(err) != tt.temporary {
			t.Errorf("%s: %v (temporary %v), want %v, temporary %v", tt.name, err, Temporary(err), ErrSMTPRejected, tt.temporary)
		}
	}
}

// refuseRecipients runs an SMTP server on a free port that answers RCPT TO for the
// addresses of refused with their answer, and everything else with success.
func refuseRecipients(t *testing.T, refused map[string]string) int {
	t.Helper()
	return scriptedSMTP(t, func(verb, line string) (string, bool) {
		if verb != "RCPT" {
			return "", false
		}
		_, arg, _ := strings.Cut(line, ":")
		return refused[strings.Trim(strings.Fields(arg)[0], "<>")], false
	})
}
