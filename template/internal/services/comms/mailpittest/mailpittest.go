// Package mailpittest runs a real SMTP server for tests: Mailpit (https://mailpit.axllent.org),
// one per test on free ports, read back through its HTTP API. Tests skip, naming the install
// command, when Mailpit is not installed. It imports nothing of the app, so the comms
// service's own tests and its glue's tests share this one copy.
package mailpittest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

// Install is how to get the Mailpit the tests look for.
const Install = "go install github.com/axllent/mailpit@v1.33.1"

// Binary finds mailpit on PATH or in $(go env GOPATH)/bin, or skips t.
func Binary(t testing.TB) string {
	t.Helper()
	return testserver.Binary(t, "mailpit", Install)
}

// Server is a running Mailpit: its SMTP port and its HTTP API. Stop and Start take it down
// and bring it back on the same ports with the same mailbox, as a restarted mail server.
type Server struct {
	// SMTPPort is where it takes mail, on 127.0.0.1.
	SMTPPort int
	// API is the base URL of its HTTP API and web UI.
	API string

	t    testing.TB
	bin  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
	logs   *strings.Builder
}

// Start starts a Mailpit of its own on free ports with the extra flags (--smtp-auth-file,
// --smtp-tls-cert...), stopped when the test ends. A port taken between being found free and
// Mailpit binding it (parallel tests find ports too) makes Mailpit exit: it is started again
// on other ports, rather than the test talking to whichever server holds the port.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	db := filepath.Join(t.TempDir(), "mailpit.db")
	for attempt := 1; ; attempt++ {
		smtpPort, httpPort := testserver.FreePort(t), testserver.FreePort(t)
		s := &Server{
			SMTPPort: smtpPort, API: "http://127.0.0.1:" + strconv.Itoa(httpPort), t: t, bin: Binary(t),
			args: append([]string{"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort), "--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
				"--database", db, "--quiet", "--smtp-disable-rdns"}, flags...),
		}
		err := s.start()
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
}

// Start runs the server again after Stop, on the same ports and mailbox, and waits until its
// SMTP port and API answer. It does nothing while the server runs.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.bin, s.args...)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.logs = cmd, exited, logs
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("mailpit exited while starting:\n%s", logs.String())
		default:
		}
		res, err := http.Get(s.API + "/api/v1/messages")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.SMTPPort)); err == nil {
					c.Close()
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("mailpit did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server; connections to its SMTP port are refused until Start. It is
// idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Get fetches path from the API, fails the test unless it answers 200, decodes the JSON
// answer into out when out is not nil, and returns the body.
func (s *Server) Get(path string, out any) []byte {
	s.t.Helper()
	res, err := http.Get(s.API + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %v\n%s", path, res.StatusCode, err, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return b
}

// Address is a mailbox as the API gives it.
type Address struct{ Name, Address string }

// Part is an attachment or inline part of a message.
type Part struct {
	PartID, FileName, ContentType, ContentID string
	Size                                     int
}

// Message is one message in full (GET /api/v1/message/{ID}).
type Message struct {
	ID, MessageID, Subject, Text, HTML string
	From                               Address
	To, Cc, Bcc, ReplyTo               []Address
	Attachments, Inline                []Part
}

// Summary is a message as the list gives it. ID is Mailpit's; MessageID the Message-ID header.
type Summary struct {
	ID, MessageID, Subject string
	To                     []Address
}

// Summaries lists every message in the mailbox, newest first.
func (s *Server) Summaries() []Summary {
	s.t.Helper()
	var all []Summary
	for start := 0; ; {
		var page struct {
			Total    int
			Messages []Summary
		}
		s.Get("/api/v1/messages?limit=500&start="+strconv.Itoa(start), &page)
		all = append(all, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return all
		}
	}
}

// Messages is Summaries.
func (s *Server) Messages() []Summary { return s.Summaries() }

// WaitCount waits until the mailbox holds at least n messages, at most timeout, and returns
// them all; it fails the test on timeout.
func (s *Server) WaitCount(n int, timeout time.Duration) []Summary {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list := s.Summaries()
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d messages arrived in mailpit within %s, want %d", len(list), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Message waits (up to 30 seconds: a loaded CI machine) for a message with subject to arrive
// and returns it in full.
func (s *Server) Message(subject string) Message {
	s.t.Helper()
	return s.Wait("subject "+strconv.Quote(subject), func(m Summary) bool { return m.Subject == subject })
}

// MessageTo waits (up to 30 seconds) for a message to the address to with subject.
func (s *Server) MessageTo(to, subject string) Message {
	s.t.Helper()
	return s.Wait(fmt.Sprintf("to %s with subject %q", to, subject), func(m Summary) bool {
		if m.Subject != subject {
			return false
		}
		for _, a := range m.To {
			if strings.EqualFold(a.Address, to) {
				return true
			}
		}
		return false
	})
}

// Wait waits (up to 30 seconds) for the newest message that match accepts and returns it in
// full; what describes it in the failure. It returns as soon as the message is there.
func (s *Server) Wait(what string, match func(Summary) bool) Message {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range s.Summaries() {
			if match(m) {
				var full Message
				s.Get("/api/v1/message/"+url.PathEscape(m.ID), &full)
				return full
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no message %s arrived in mailpit", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SelfSigned writes a certificate for 127.0.0.1 and localhost and its key, and returns their
// paths and a pool trusting it.
func SelfSigned(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
