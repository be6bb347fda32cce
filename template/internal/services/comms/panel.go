package comms

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The Comms panel: the latest messages with their status, and one message shown as its
// recipient would see it (?id=...), like a built-in Mailpit. It lives in this folder so it
// leaves with the service.

// panelRows is how many messages the list shows.
const panelRows = 50

// previewCSP is the policy of the previewed email, served as a panel resource of its own (the
// dashboard's policy, style-src 'self', would block the email's inline styles): no scripts,
// no network, only inline styles and the message's own inline images (as data: URLs). The
// frontend adds the CSP sandbox, and the iframe's sandbox attribute (no allow-*) blocks
// scripts, forms and navigation too; the policy also keeps remote images and fonts
// (trackers) from loading.
const previewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

var panelTmpl = frontend.NewTemplate("comms", template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"size":     byteSize,
	"join":     func(list []string) string { return strings.Join(list, ", ") },
	"status":   func(s Status) string { return string(s) },
	"redacted": func(r Record) bool { return r.Email != nil && r.Email.Redacted || r.SMS != nil && r.SMS.Redacted },
}, `<p>Email: <strong>{{.EmailProvider}}</strong>{{if eq .EmailProvider "outbox"}} (kept here, never sent){{end}} · SMS: <strong>{{.SMSProvider}}</strong>{{if eq .SMSProvider "outbox"}} (kept here, never sent){{end}}</p>
{{if eq .EmailProvider "outbox"}}<p class="muted">Sensitive emails (one-time links such as password resets) keep their body here, since the outbox delivers them nowhere else: this is where you open their links. With a real provider their body is removed once delivered.</p>{{end}}
<p>Last day: {{.Counts.queued}} queued, {{.Counts.sent}} sent, {{.Counts.failed}} failed.</p>
{{if .Missing}}<p class="notice notice-error" role="alert">No message with that ID: it is no longer kept, or the link is wrong. Pick one from the list below.</p>{{end}}
{{with .Selected}}{{template "message" .}}{{end}}
<h2 id="messages-heading">Messages</h2>
{{if .Messages}}<div class="scroll" tabindex="0" role="group" aria-labelledby="messages-heading"><table>
  <thead><tr><th scope="col">Created</th><th scope="col">Channel</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Status</th><th scope="col">Provider</th><th scope="col">Attempts</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>{{range .Messages}}<tr>
    <td>{{when .CreatedAt}}</td><td>{{.Channel}}</td><td>{{.Recipients}}</td>
    <th scope="row"><a href="{{$.Self}}?id={{.ID}}">{{with .Summary}}{{.}}{{else}}(no subject){{end}}</a></th>
    <td>{{status .Status}}{{if and (eq (status .Status) "queued") .Error}} (will retry){{end}}{{with .Error}}<br><span class="msg">{{.}}</span>{{end}}</td>
    <td>{{.Provider}}</td><td>{{.Attempts}}</td>
    <td>{{if redacted .}}<span class="muted">body removed</span>{{else if and (eq (status .Status) "queued") .Error}}<span class="muted">retrying</span>{{else}}<form method="post" action="{{$.Resend}}" hx-post="{{$.Resend}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><button type="submit">Resend<span class="visually-hidden"> message {{.ID}}</span></button></form>{{end}}</td>
  </tr>{{end}}</tbody>
</table></div>{{else}}<p class="muted">No messages yet. Send one with <code>comms send-test --to you@example.com</code>.</p>{{end}}
{{define "message"}}<section aria-labelledby="message-heading">
<h2 id="message-heading">{{with .Record.Summary}}{{.}}{{else}}(no subject){{end}}</h2>
<table>
  <tbody>
  <tr><th scope="row">Message</th><td><code>{{.Record.ID}}</code> · {{.Record.Channel}}{{with .Record.Email}}{{with .Template}} · template <code>{{.}}</code>{{end}}{{end}}</td></tr>
  <tr><th scope="row">Status</th><td>{{status .Record.Status}}{{if and (eq (status .Record.Status) "queued") .Record.Error}} (will retry){{end}} after {{.Record.Attempts}} attempt(s){{with .Record.Provider}} with {{.}}{{end}}{{with .Record.ProviderID}} (<code>{{.}}</code>){{end}}{{with .Record.Error}}<br><span class="msg">{{.}}</span>{{end}}</td></tr>
  <tr><th scope="row">Created</th><td>{{when .Record.CreatedAt}}{{with when .Record.SentAt}} · sent {{.}}{{end}}</td></tr>
  {{with .Record.Email}}
  <tr><th scope="row">From</th><td>{{.From}}</td></tr>
  <tr><th scope="row">To</th><td>{{join .To}}</td></tr>
  {{with .Cc}}<tr><th scope="row">Cc</th><td>{{join .}}</td></tr>{{end}}
  {{with .Bcc}}<tr><th scope="row">Bcc</th><td>{{join .}}</td></tr>{{end}}
  {{with .ReplyTo}}<tr><th scope="row">Reply-To</th><td>{{.}}</td></tr>{{end}}
  <tr><th scope="row">Subject</th><td>{{.Subject}}</td></tr>
  {{end}}
  {{range .Headers}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}
  {{with .Record.SMS}}<tr><th scope="row">To</th><td>{{.To}}</td></tr>{{end}}
  </tbody>
</table>
{{with .Record.SMS}}
{{if .Redacted}}<p class="msg">Body removed after delivery: it held {{.Sensitive}}. It cannot be resent; request a new one instead.</p>
{{else}}{{if .Sensitive}}<p class="muted">Sensitive: it holds {{.Sensitive}}. {{if eq $.SMSProvider "outbox"}}The development outbox delivers nowhere else, so the body stays here.{{else}}The body is removed once a provider has delivered it.{{end}}</p>{{end}}
<h3>Text</h3><pre class="sms">{{.Body}}</pre>{{end}}
{{end}}
{{with .Record.Email}}
{{if .Redacted}}<p class="msg">Body removed after delivery: it held {{.Sensitive}}. It cannot be resent; request a new one instead.</p>
{{else if .Sensitive}}<p class="muted">Sensitive: it holds {{.Sensitive}}. {{if eq $.Provider "outbox"}}The development outbox delivers nowhere else, so the body stays here.{{else}}The body is removed once a provider has delivered it.{{end}}</p>{{end}}
{{if .HTML}}<h3>HTML</h3>
<iframe class="mail-preview" title="The HTML part as the recipient sees it" sandbox="" referrerpolicy="no-referrer" src="{{$.Preview}}"></iframe>{{end}}
{{if .Text}}<h3>Text</h3><pre class="mail-text">{{.Text}}</pre>{{end}}
{{if .Attachments}}<h3>Attachments</h3><ul>{{range .Attachments}}<li><code>{{.Filename}}</code> ({{.ContentType}}, {{size .Len}}){{with .ContentID}}, inline as <code>cid:{{.}}</code>{{end}}</li>{{end}}</ul>{{end}}
{{end}}
{{if and (eq (status .Record.Status) "queued") .Record.Error}}<p class="muted">Being retried: resending it now would deliver it twice.</p>
{{else if not (redacted .Record)}}<form method="post" action="{{.Resend}}" hx-post="{{.Resend}}" hx-target="closest .panel" hx-swap="outerHTML">{{.CSRF}}<input type="hidden" name="id" value="{{.Record.ID}}"><button type="submit">Resend this message</button></form>{{end}}
<p><a href="{{.Self}}">Back to the list</a></p>
</section>{{end}}`)

type panelHeader struct{ Name, Value string }

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	svc, err := registry.Get[*Service](p.Container)
	if err != nil {
		return "", fmt.Errorf("the comms service is not available: %w", err)
	}
	ctx := p.Request.Context()
	msgs, err := svc.Messages(ctx, ListParams{Limit: panelRows})
	if err != nil {
		return "", p.Problem("cannot list messages", err)
	}
	counts, err := svc.store.Count(ctx, svc.now().Add(-CountWindow))
	if err != nil {
		return "", p.Problem("cannot count messages", err)
	}
	// Absolute, so the links work wherever the panel is shown.
	self := frontend.PanelsPath + "/" + p.Panel
	byStatus := map[string]int{}
	for _, st := range Statuses {
		byStatus[string(st)] = counts.ByStatus[st]
	}
	data := map[string]any{
		"EmailProvider": svc.email.Name(), "SMSProvider": svc.sms.Name(), "Counts": byStatus,
		"Messages": msgs, "Resend": p.ActionURL("resend"), "CSRF": p.CSRFField(), "Self": self,
	}
	if id := p.Request.URL.Query().Get("id"); id != "" {
		r, err := svc.Message(ctx, ID(id))
		if errors.Is(err, ErrNotFound) {
			// A link kept after the message left the store, or an id edited by hand: the
			// list, with a notice, rather than a failed panel. The id is not echoed (any
			// length, any text).
			data["Missing"] = true
			return p.Execute(panelTmpl, data)
		}
		if err != nil {
			return "", p.Problem("cannot read the message", err)
		}
		sel := map[string]any{"Record": r, "Resend": p.ActionURL("resend"), "CSRF": p.CSRFField(), "Self": self, "Provider": svc.email.Name(), "SMSProvider": svc.sms.Name()}
		if r.Email != nil {
			var headers []panelHeader
			for _, name := range slices.Sorted(maps.Keys(r.Email.Headers)) {
				headers = append(headers, panelHeader{name, r.Email.Headers[name]})
			}
			sel["Headers"] = headers
			sel["Preview"] = p.ResourceURL("preview") + "?id=" + url.QueryEscape(string(r.ID))
		}
		data["Selected"] = sel
	}
	return p.Execute(panelTmpl, data)
}

// Preview is the HTML part of m as the panel serves it: the inline images (cid:...) turned
// into data: URLs so they show as in a mail client, behind a Content-Security-Policy (also
// sent as a header) that allows no script and no network.
func Preview(m *Message) string {
	images := map[string]string{}
	for _, a := range m.Attachments {
		if a.Inline() {
			images[a.ContentID] = "data:" + a.ContentType + ";base64," + base64.StdEncoding.EncodeToString(a.Content)
		}
	}
	// Each reference is looked up whole: replacing the text "cid:logo" would also rewrite
	// the start of "cid:logo-dark". RFC 2392 lets a cid URL percent-encode the ID.
	html := cidRef.ReplaceAllStringFunc(m.HTML, func(ref string) string {
		id := strings.TrimPrefix(ref, "cid:")
		if data, ok := images[id]; ok {
			return data
		}
		if unescaped, err := url.PathUnescape(id); err == nil {
			if data, ok := images[unescaped]; ok {
				return data
			}
		}
		return ref
	})
	return `<meta http-equiv="Content-Security-Policy" content="` + previewCSP + `"><base target="_blank">` + html
}

// cidRef is a cid: URL in HTML or CSS, up to the quote, space, bracket or parenthesis that
// ends it (a content ID holds none of them: prepare refuses <, > and spaces).
var cidRef = regexp.MustCompile(`cid:[^"'\s()<>]+`)

// previewResource serves the HTML part of the message ?id= as its own document, for the
// panel's iframe.
func previewResource(p *frontend.PanelContext) (frontend.Resource, error) {
	svc, err := registry.Get[*Service](p.Container)
	if err != nil {
		return frontend.Resource{}, fmt.Errorf("the comms service is not available: %w", err)
	}
	id := ID(p.Request.URL.Query().Get("id"))
	r, err := svc.Message(p.Request.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		return frontend.Resource{}, fmt.Errorf("%w: message %q", frontend.ErrNoResource, id)
	case err != nil:
		return frontend.Resource{}, err
	case r.Email == nil || r.Email.HTML == "":
		return frontend.Resource{}, fmt.Errorf("%w: message %q has no HTML part", frontend.ErrNoResource, id)
	}
	return frontend.Resource{Body: []byte(Preview(r.Email)), CSP: previewCSP}, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func resendAction(p *frontend.PanelContext) error {
	svc, err := registry.Get[*Service](p.Container)
	if err != nil {
		return fmt.Errorf("the comms service is not available: %w", err)
	}
	id := ID(p.Request.PostFormValue("id"))
	if id == "" {
		return fmt.Errorf("no message to resend")
	}
	newID, err := svc.Resend(p.Request.Context(), id)
	if errors.Is(err, ErrRedacted) || errors.Is(err, ErrRetrying) {
		return fmt.Errorf("message %s cannot be resent: %w", id, err)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("there is no message %s: it is no longer kept; reload the panel", id)
	case err != nil && newID != "":
		// The copy's delivery failed: the provider's answer, which its row shows too.
		return fmt.Errorf("message %s was sent again as %s, which failed: %w", id, newID, err)
	case err != nil:
		// Reading or recording the message failed: the store's error, the database's
		// driver text once commsdb stores the messages.
		return p.Problem("message "+string(id)+" was not resent", err)
	}
	p.Notice = fmt.Sprintf("Message %s was sent again as %s.", id, newID)
	return nil
}
