package comms

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mailpitInstall is how to get the SMTP test server the tests look for.
const mailpitInstall = "go install github.com/axllent/mailpit@v1.33.1"

// mailpitBinary finds mailpit on PATH or in $(go env GOPATH)/bin, or skips t.
func mailpitBinary(t *testing.T) string {
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
	t.Skipf("mailpit is not installed (PATH, $(go env GOPATH)/bin); install it with: %s", mailpitInstall)
	return ""
}

// mailpit is a running Mailpit: its SMTP port and its HTTP API.
type mailpit struct {
	t        *testing.T
	smtpPort int
	api      string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMailpit starts a Mailpit of its own on free ports with the extra flags, stopped when
// the test ends.
func startMailpit(t *testing.T, flags ...string) *mailpit {
	t.Helper()
	bin := mailpitBinary(t)
	smtpPort, httpPort := freePort(t), freePort(t)
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
	m := &mailpit{t: t, smtpPort: smtpPort, api: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(m.api + "/api/v1/messages")
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

func (m *mailpit) get(path string, out any) []byte {
	m.t.Helper()
	res, err := http.Get(m.api + path)
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

type mpAddress struct{ Name, Address string }

type mpPart struct {
	PartID, FileName, ContentType, ContentID string
	Size                                     int
}

type mpMessage struct {
	ID, MessageID, Subject, Text, HTML string
	From                               mpAddress
	To, Cc, Bcc, ReplyTo               []mpAddress
	Attachments, Inline                []mpPart
}

// message waits for the message with subject to arrive and returns it in full.
func (m *mailpit) message(subject string) mpMessage {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Messages []struct{ ID, Subject string }
		}
		m.get("/api/v1/messages?limit=200", &list)
		for _, s := range list.Messages {
			if s.Subject == subject {
				var full mpMessage
				m.get("/api/v1/message/"+s.ID, &full)
				return full
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no message %q arrived in mailpit", subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key, and returns their
// paths and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
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

// trust is a TLS config trusting pool only.
func trust(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }
