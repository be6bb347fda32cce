// Package mailpittest starts a real Mailpit (an SMTP server with an HTTP API) for tests and
// reads what arrived, so every test that sends mail checks it the same way: the comms
// service's own tests and those of the glue folders that send through it.
//
// Tests skip, naming the install command, when mailpit is not installed.
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
	"testing"
	"time"
)

// Install is how to get the SMTP test server the tests look for.
const Install = "go install github.com/axllent/mailpit@v1.33.1"

// Binary finds mailpit on PATH or in $(go env GOPATH)/bin, or skips t.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for dir := range strings.SplitSeq(gopath, string(os.PathListSeparator)) {
		if p := filepath.Join(dir, "bin", "mailpit"); dir != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skipf("mailpit is not installed (PATH, $(go env GOPATH)/bin); install it with: %s", Install)
	return ""
}

// Server is a running Mailpit: its SMTP port and the base URL of its HTTP API.
type Server struct {
	t        testing.TB
	SMTPPort int
	API      string
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a Mailpit of its own on free ports with the extra flags, stopped when the
// test ends.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	bin := Binary(t)
	smtpPort, httpPort := FreePort(t), FreePort(t)
	args := append([]string{"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort), "--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--quiet", "--smtp-disable-rdns"}, flags...)
	cmd := exec.Command(bin, args...)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	m := &Server{t: t, SMTPPort: smtpPort, API: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(m.API + "/api/v1/messages")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", smtpPort)); err == nil {
					c.Close()
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Get reads path of the API, decodes it into out unless out is nil, and returns the body.
func (m *Server) Get(path string, out any) []byte {
	m.t.Helper()
	res, err := http.Get(m.API + path)
	if err != nil {
		m.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		m.t.Fatalf("GET %s: %d %v\n%s", path, res.StatusCode, err, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			m.t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return b
}

// Address is a mailbox as Mailpit reports it.
type Address struct{ Name, Address string }

// Part is an attachment or inline part of a message.
type Part struct {
	PartID, FileName, ContentType, ContentID string
	Size                                     int
}

// Message is a message in full, as GET /api/v1/message/{id} returns it.
type Message struct {
	ID, MessageID, Subject, Text, HTML string
	From                               Address
	To, Cc, Bcc, ReplyTo               []Address
	Attachments, Inline                []Part
}

// Summary is a message as the list shows it.
type Summary struct {
	ID, Subject string
	To          []Address
}

// Messages returns the messages that arrived so far, newest first (at most 200).
func (m *Server) Messages() []Summary {
	m.t.Helper()
	var list struct{ Messages []Summary }
	m.Get("/api/v1/messages?limit=200", &list)
	return list.Messages
}

// Message waits (up to 10 seconds) for a message with subject to arrive and returns it in
// full.
func (m *Server) Message(subject string) Message {
	m.t.Helper()
	return m.Wait("subject "+strconv.Quote(subject), func(s Summary) bool { return s.Subject == subject })
}

// MessageTo waits (up to 10 seconds) for a message to the address to with subject.
func (m *Server) MessageTo(to, subject string) Message {
	m.t.Helper()
	return m.Wait(fmt.Sprintf("to %s with subject %q", to, subject), func(s Summary) bool {
		if s.Subject != subject {
			return false
		}
		for _, a := range s.To {
			if strings.EqualFold(a.Address, to) {
				return true
			}
		}
		return false
	})
}

// Wait waits (up to 10 seconds) for the newest message that match accepts and returns it in
// full; what describes it in the failure.
func (m *Server) Wait(what string, match func(Summary) bool) Message {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range m.Messages() {
			if match(s) {
				var full Message
				m.Get("/api/v1/message/"+url.PathEscape(s.ID), &full)
				return full
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no message %s arrived in mailpit", what)
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
