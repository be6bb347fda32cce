package comms

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// SMTP sends email through an SMTP server with go-mail: STARTTLS (required, opportunistic or
// off) or implicit TLS, PLAIN or LOGIN authentication. Each send opens its own connection, so
// a server restarted between two messages costs nothing.
type SMTP struct {
	host    string
	opts    []gomail.Option
	timeout time.Duration
	// implicitTLS and tlsConfig let dial open the connection itself: go-mail dials with the
	// context but then reads and writes under its own timeouts only.
	implicitTLS bool
	tlsConfig   *tls.Config
}

// SMTPParams configure NewSMTP; see Settings for what each means.
type SMTPParams struct {
	Host        string
	Port        int
	ImplicitTLS bool
	TLSPolicy   string // TLSRequire (empty), TLSOpportunistic or TLSNone
	Auth        string // AuthPlain (empty), AuthLogin or AuthNone; used when Username is set
	Username    string
	Password    string
	Timeout     time.Duration // of the connection and of each command; 0: DefaultSMTPTimeout
	// TLSConfig verifies the server; nil means the system's roots and Host as the name.
	TLSConfig *tls.Config
}

// NewSMTP returns the provider for the server p describes.
func NewSMTP(p SMTPParams) (*SMTP, error) {
	if p.Host == "" {
		return nil, fmt.Errorf("%w: smtp: no host", ErrNotConfigured)
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultSMTPTimeout
	}
	tlsConfig := p.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = p.Host
	}
	tlsConfig.MinVersion = max(tlsConfig.MinVersion, tls.VersionTLS12)
	opts := []gomail.Option{
		gomail.WithPort(p.Port),
		gomail.WithTimeout(p.Timeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithHELO("localhost"),
	}
	policy := gomail.TLSMandatory
	switch p.TLSPolicy {
	case TLSOpportunistic:
		policy = gomail.TLSOpportunistic
	case TLSNone:
		policy = gomail.NoTLS
	}
	if p.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(policy))
	}
	if p.Username != "" && p.Auth != AuthNone {
		// The mechanisms refuse to send credentials in clear, unless TLS is explicitly off
		// (a local relay): then the operator chose it.
		var mech gomail.SMTPAuthType
		switch {
		case p.Auth == AuthLogin && policy == gomail.NoTLS && !p.ImplicitTLS:
			mech = gomail.SMTPAuthLoginNoEnc
		case p.Auth == AuthLogin:
			mech = gomail.SMTPAuthLogin
		case policy == gomail.NoTLS && !p.ImplicitTLS:
			mech = gomail.SMTPAuthPlainNoEnc
		default:
			mech = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(p.Username), gomail.WithPassword(p.Password))
	}
	// Fail now on a bad option rather than at the first message.
	if _, err := gomail.NewClient(p.Host, opts...); err != nil {
		return nil, fmt.Errorf("comms: smtp: %w", err)
	}
	return &SMTP{host: p.Host, opts: opts, timeout: p.Timeout, implicitTLS: p.ImplicitTLS, tlsConfig: tlsConfig}, nil
}

// client returns a go-mail client whose connection is closed as soon as ctx ends. go-mail
// honours the context only while dialling; afterwards each command waits for its own
// timeout, so a server that stops answering would hold a worker past its job's cancellation
// (a graceful shutdown's) for up to COMMS_SMTP_TIMEOUT per command. Closing the connection
// ends the blocked read at once. The returned stop must be called when the send is over.
func (p *SMTP) client(ctx context.Context) (*gomail.Client, func(), error) {
	var (
		mu       sync.Mutex
		stopConn = func() bool { return false }
	)
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var (
			conn net.Conn
			err  error
		)
		if p.implicitTLS {
			// A *tls.Conn, as go-mail's own implicit-TLS dial makes, so the server still counts as encrypted.
			conn, err = (&tls.Dialer{NetDialer: d, Config: p.tlsConfig}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stopConn = context.AfterFunc(ctx, func() { _ = conn.Close() })
		mu.Unlock()
		return conn, nil
	}
	client, err := gomail.NewClient(p.host, append(slices.Clip(p.opts), gomail.WithDialContextFunc(dial))...)
	if err != nil {
		return nil, nil, fmt.Errorf("comms: smtp: %w", err)
	}
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		stopConn()
	}
	return client, stop, nil
}

// failed classifies err, a failed conversation. When ctx ended (the connection was closed
// for it) the server had not answered in time: unreachable, as a timeout is, and the error
// carries ctx's cause, so callers see the cancellation rather than a closed connection (and
// never a rejection, which is permanent: a command cut short is not refused).
func (p *SMTP) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%s): %w: %w", ErrSMTPUnreachable, p.host, context.Cause(ctx), err)
	}
	return p.classify(err)
}

// Name implements EmailProvider.
func (*SMTP) Name() string { return ProviderSMTP }

// SendEmail implements EmailProvider; the provider ID is the Message-ID header.
func (p *SMTP) SendEmail(ctx context.Context, m *Message) (string, error) {
	msg, err := p.build(m)
	if err != nil {
		return "", err
	}
	client, stop, err := p.client(ctx)
	if err != nil {
		return "", err
	}
	defer stop()
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", p.failed(ctx, err)
	}
	defer func() { _ = client.CloseWithSMTPClient(conn) }()
	// A failure after the server took the message (250 to its end), at the RSET that ends the
	// transaction, leaves it sent: reporting it failed would show a delivered message as
	// failed, and a retry would deliver it twice.
	if err := client.SendWithSMTPClient(conn, msg); err != nil && !msg.IsDelivered() {
		return "", p.failed(ctx, err)
	}
	return strings.Trim(msg.GetMessageID(), "<>"), nil
}

// Check connects, says hello, starts TLS and authenticates as a send would, then quits:
// what the health check runs.
func (p *SMTP) Check(ctx context.Context) error {
	client, stop, err := p.client(ctx)
	if err != nil {
		return err
	}
	defer stop()
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return p.failed(ctx, err)
	}
	return client.CloseWithSMTPClient(conn)
}

// build turns a checked Message into go-mail's.
func (p *SMTP) build(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("%w: From: %w", ErrInvalidAddress, err)
	}
	set := func(h gomail.AddrHeader, list []string) error {
		if len(list) == 0 {
			return nil
		}
		if err := msg.SetAddrHeader(h, list...); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidAddress, h, err)
		}
		return nil
	}
	if err := errors.Join(set(gomail.HeaderTo, m.To), set(gomail.HeaderCc, m.Cc), set(gomail.HeaderBcc, m.Bcc)); err != nil {
		return nil, err
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("%w: Reply-To: %w", ErrInvalidAddress, err)
		}
	}
	if folded, ok := encodeSubject(m.Subject); ok {
		msg.SetGenHeaderPreformatted(gomail.HeaderSubject, folded)
	} else {
		msg.Subject(m.Subject)
	}
	// Not go-mail's SetMessageID: its random part may begin or end with a dot or hold two in
	// a row, which RFC 5322 forbids, and its domain is the machine's host name (a container
	// ID in Docker) rather than the sender's.
	msg.SetMessageIDWithValue(newMessageID(m.From, time.Now()))
	msg.SetDate()
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		msg.SetGenHeader(gomail.Header(name), m.Headers[name])
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	for _, a := range m.Attachments {
		opts := []gomail.FileOption{gomail.WithFileContentType(gomail.ContentType(a.ContentType))}
		var err error
		if a.Inline() {
			opts = append(opts, gomail.WithFileContentID(a.ContentID))
			err = msg.EmbedReader(a.Filename, bytes.NewReader(a.Content), opts...)
		} else {
			err = msg.AttachReader(a.Filename, bytes.NewReader(a.Content), opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrInvalidAttachment, a.Filename, err)
		}
	}
	return msg, nil
}

// dotAtom is RFC 5322's dot-atom: atext runs joined by single dots, none at either end. Both
// halves of a Message-ID must be one (the domain may also be a bracketed literal, not made
// here).
var dotAtom = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

// messageIDEncoding writes the random part with lower-case letters and digits only: atext
// in every mail system, and no dots or padding to break the dot-atom.
var messageIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newMessageID returns a Message-ID, without its angle brackets, for a message from the
// address from: the send time in hexadecimal milliseconds, a dot and 120 random bits, then
// @ and the sender's domain. The sender's domain makes the ID globally unique in a way its
// owner controls (and is what spam filters expect to see), where the host name is often a
// container ID; the host name is used only when from has no usable domain.
func newMessageID(from string, now time.Time) string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("%x.%s@%s", now.UnixMilli(), messageIDEncoding.EncodeToString(b[:]), messageIDDomain(from))
}

// messageIDDomain is the domain of the address from, else the host name, else localhost:
// whichever is first a dot-atom (an internationalized domain is not, unencoded).
func messageIDDomain(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			if d := strings.ToLower(a.Address[i+1:]); dotAtom.MatchString(d) {
				return d
			}
		}
	}
	if h, err := os.Hostname(); err == nil && dotAtom.MatchString(h) {
		return strings.ToLower(h)
	}
	return "localhost"
}

// Line lengths of an encoded Subject: RFC 2047 keeps each encoded word to 75 characters and
// each line holding one to 76. The first line starts with "Subject: ", the others with a
// space.
const (
	maxEncodedWord   = 75
	maxHeaderLine    = 76
	subjectFirstWord = maxHeaderLine - len("Subject: ")
)

// encodeSubject writes a subject that needs encoding (anything but printable ASCII) as
// RFC 2047 Q-encoded UTF-8 words, folded one to a line, and reports whether it did; a
// printable ASCII subject is left to go-mail. go-mail's own encoding cuts the words without
// regard to the header name, so a long one does not fit after "Subject: " and the header
// starts with an empty line ("Subject:" then " =?UTF-8?q?..."): valid, but some parsers then
// read a leading space. Here the first word is cut to fit the first line. Words hold whole
// characters, as RFC 2047 requires, and decoders join adjacent encoded words without the
// folding white space, so the subject reads back exactly.
//
// A printable ASCII subject is encoded too when a word of it is longer than the first line
// holds: go-mail folds only at spaces, so a long URL or reference in the subject made a line
// past RFC 5322's 998 characters, which servers may refuse or cut.
func encodeSubject(subject string) (string, bool) {
	if !strings.ContainsFunc(subject, func(r rune) bool { return r < ' ' || r > '~' }) &&
		!slices.ContainsFunc(strings.Fields(subject), func(w string) bool { return len(w) > subjectFirstWord }) {
		return "", false
	}
	const prefix, suffix = "=?UTF-8?q?", "?="
	var (
		out   strings.Builder
		word  strings.Builder
		limit = subjectFirstWord
	)
	flush := func() {
		if word.Len() == 0 {
			return
		}
		if out.Len() > 0 {
			out.WriteString("\r\n ")
		}
		out.WriteString(prefix + word.String() + suffix)
		word.Reset()
		limit = maxEncodedWord
	}
	for rest := subject; rest != ""; {
		// One character's bytes as they are (an invalid byte is a character of its own).
		_, size := utf8.DecodeRuneInString(rest)
		char := rest[:size]
		rest = rest[size:]
		var enc strings.Builder
		for _, b := range []byte(char) {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b > ' ' && b <= '~' && b != '=' && b != '?' && b != '_':
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		if len(prefix)+word.Len()+enc.Len()+len(suffix) > limit {
			flush()
		}
		word.WriteString(enc.String())
	}
	flush()
	return out.String(), true
}

// classify wraps an error of go-mail with the sentinel that says what went wrong, so callers
// (and the panel) tell a server that is down from one that refuses the password. What only
// SMTP knows (a reply, the missing STARTTLS, an authentication refusal) is tested here; the
// transport failure under it is named by netfail.Classify, the one classifier every part
// shares, and worded with the setting to check.
func (p *SMTP) classify(err error) error {
	var sendErr *gomail.SendError
	msg := err.Error()
	kind := netfail.Classify(err)
	switch {
	case errors.As(err, &sendErr) && sendErr.Reason != gomail.ErrConnCheck && sendErr.ErrorCode() == 0 && sessionLost(sendErr):
		// No SMTP answer: the connection broke or timed out in the middle of the session
		// (a server restarting, a proxy dropping it). The server refused nothing, so this is
		// the same as a server that is down, tried again.
		return fmt.Errorf("%w (%s): connection lost: %w", ErrSMTPUnreachable, p.host, err)
	case errors.As(err, &sendErr) && sendErr.Reason != gomail.ErrConnCheck:
		return fmt.Errorf("%w: %w", ErrSMTPRejected, err)
	case strings.Contains(msg, "does not support STARTTLS"):
		return fmt.Errorf("%w (%s): %w", ErrSMTPTLSRequired, p.host, err)
	case kind == netfail.Certificate:
		return fmt.Errorf("%w (%s): the server's certificate is not trusted (unknown authority, another host name or expired): %w", ErrSMTPTLS, p.host, err)
	case kind == netfail.NotTLS && p.implicitTLS:
		return fmt.Errorf("%w (%s): the server does not speak TLS from the first byte; set COMMS_SMTP_IMPLICIT_TLS=false for a STARTTLS port (587): %w", ErrSMTPTLS, p.host, err)
	// Other handshake failures (no common protocol version or cipher) are TLS alerts,
	// which netfail does not place.
	case strings.Contains(msg, "tls:"):
		return fmt.Errorf("%w (%s): %w", ErrSMTPTLS, p.host, err)
	// go-mail's authentication errors all say "SMTP AUTH" or "SMTP Auth"; a bare "auth"
	// would also match a host name (smtp-auth.example.com) in a dial error.
	case strings.Contains(strings.ToUpper(msg), "SMTP AUTH"), errors.Is(err, gomail.ErrPlainAuthNotSupported), errors.Is(err, gomail.ErrLoginAuthNotSupported):
		return fmt.Errorf("%w (%s): %w", ErrSMTPAuth, p.host, err)
	case kind == netfail.HostName:
		return fmt.Errorf("%w (%s): the host name does not resolve; check COMMS_SMTP_HOST: %w", ErrSMTPUnreachable, p.host, err)
	case kind == netfail.Refused:
		return fmt.Errorf("%w (%s): nothing listens at that port; check COMMS_SMTP_PORT: %w", ErrSMTPUnreachable, p.host, err)
	case kind == netfail.Timeout:
		return fmt.Errorf("%w (%s): no answer within COMMS_SMTP_TIMEOUT: %w", ErrSMTPUnreachable, p.host, err)
	case kind != netfail.Unknown:
		return fmt.Errorf("%w (%s): %w", ErrSMTPUnreachable, p.host, err)
	}
	// A dial error netfail does not place (an address the resolver rejects) still means the
	// server was not reached.
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("%w (%s): %w", ErrSMTPUnreachable, p.host, err)
	}
	return fmt.Errorf("comms: smtp (%s): %w", p.host, err)
}

// sessionLost reports whether a SendError is of a stage that talks to the server (MAIL,
// RCPT, DATA, the message, its end, RSET), where an error without an SMTP code is a broken
// connection; the other reasons (an address go-mail cannot read) are the message's.
func sessionLost(e *gomail.SendError) bool {
	switch e.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrWriteContent, gomail.ErrSMTPDataClose, gomail.ErrSMTPReset:
		return true
	}
	return false
}

var _ EmailProvider = (*SMTP)(nil)
