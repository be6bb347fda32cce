package auth

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The auth service's dashboard panel: accounts with search, and buttons to
// activate or deactivate one. It lives in this folder so it leaves with the
// service.
func init() {
	registry.Contribute(registry.Default, "users", frontend.Panel{Title: "Users", Render: renderPanel, PanelOpts: frontend.PanelOpts{
		Order:   30,
		Actions: map[string]frontend.ActionFunc{"activate": activateAction, "deactivate": deactivateAction},
	}})
}

var panelTmpl = frontend.NewTemplate("users", template.FuncMap{
	"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"count": thousands,
}, `<form method="get" action="{{.Page}}" role="search" class="search">
  <label for="user-q">Search email, username or name</label>
  <input id="user-q" type="search" name="q" value="{{.Query}}">
  <button type="submit">Search</button>
</form>
{{if .Bad}}<p role="alert">{{.Bad}}</p>{{else if and (not .Query) (eq .Total 0) (not .Capped)}}<p class="muted">No accounts yet. People sign up through the API (<code>POST /api/v1/auth/register</code>); make the first admin with the app's <code>users create-admin</code> command, then sign in here with it.</p>{{else}}<p class="muted">{{count .Total}}{{if .Capped}}+{{end}} account{{if or .Capped (ne .Total 1)}}s{{end}}{{with .Query}} {{if $.Short}}starting with{{else}}matching{{end}} “{{.}}”{{end}}{{if gt .Total (len .Users)}}, the first {{len .Users}} shown{{end}}.</p>{{end}}
{{if .Users}}<div class="scroll" tabindex="0" role="group" aria-label="Users, scrollable"><table>
  <thead><tr><th scope="col">Email</th><th scope="col">Username</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>{{range .Users}}<tr>
    <th scope="row">{{.Email}}</th><td>{{.Username}}</td><td>{{.FullName}}</td><td>{{.Role}}</td>
    <td>{{if .Active}}<span class="badge badge-healthy">active</span>{{else}}<span class="badge badge-none">inactive</span>{{end}}{{if .EmailVerified}} <span class="badge badge-healthy" title="The owner opened the confirmation link sent to this address">email confirmed</span>{{end}}</td>
    <td>{{day .CreatedAt}}</td>
    <td>{{if and .Active (eq $.Confirm .ID)}}<form method="post" action="{{$.Deactivate}}" hx-post="{{$.Deactivate}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="q" value="{{$.Query}}"><p id="confirm-deactivate-{{.ID}}" role="alert">Deactivate {{.Email}}? Their sessions end at once.</p><button type="submit" aria-describedby="confirm-deactivate-{{.ID}}">Yes, deactivate<span class="visually-hidden"> {{.Email}}</span></button> <a href="{{$.Back}}">Cancel</a></form>
    {{else if .Active}}<form method="get" action="{{$.Page}}" hx-post="{{$.Deactivate}}" hx-confirm="Deactivate {{.Email}}? Their sessions end at once." hx-target="closest .panel" hx-swap="outerHTML" hx-vals='{"id": "{{.ID}}"}'><input type="hidden" name="confirm" value="{{.ID}}"><input type="hidden" name="q" value="{{$.Query}}"><button type="submit">Deactivate<span class="visually-hidden"> {{.Email}}</span></button></form>
    {{else}}<form method="post" action="{{$.Activate}}" hx-post="{{$.Activate}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="q" value="{{$.Query}}"><button type="submit">Activate<span class="visually-hidden"> {{.Email}}</span></button></form>{{end}}</td>
  </tr>{{end}}</tbody>
</table></div>{{end}}`)

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	users, err := registry.Get[*UserService](p.Container)
	if err != nil {
		return "", fmt.Errorf("the user service is not available: %w", err)
	}
	// After an action the panel is rendered for the POST, whose form carries the search on.
	q := p.Request.FormValue("q")
	res, err := users.List(p.Request.Context(), ListUsersParams{Query: q, PerPage: MaxPageSize})
	var ve *ValidationError
	bad := ""
	if errors.As(err, &ve) {
		// The operator's mistake (a control character pasted into the box), not
		// the panel failing: said in the panel, not logged as an error.
		bad = "The search " + ve.Reason + "."
		res, err = &ListUsersResult{}, nil
	}
	if err != nil {
		return "", p.Problem("cannot list users", err)
	}
	page := frontend.PanelsPath + "/" + p.Panel
	back := page
	if q != "" {
		back += "?" + url.Values{"q": {q}}.Encode()
	}
	return p.Execute(panelTmpl, map[string]any{
		"Page": page, "Back": back, "Query": q, "Users": res.Users, "Total": res.Total,
		"Capped": res.TotalCapped, "Short": shortQuery(q), "Bad": bad, "Confirm": confirming(p),
		"Activate": p.ActionURL("activate"), "Deactivate": p.ActionURL("deactivate"), "CSRF": p.CSRFField(),
	})
}

// confirming is the ID of the account whose deactivation awaits the
// operator's confirmation, 0 for none. Deactivating signs the account out
// at once, so it takes two steps: with JavaScript, the Deactivate button asks
// (hx-confirm) before it posts; without, it is a GET of the panel with
// confirm=ID, which shows that row's "Yes, deactivate" form, the one that
// posts. A POST's re-rendered panel (its form may carry confirm) asks nothing,
// and a post's redirect back drops confirm (frontend's backTo). The account's
// id goes to htmx's post in hx-vals, not in the form, so that it stays out of
// the confirmation step's address.
func confirming(p *frontend.PanelContext) int64 {
	if p.Request.Method != http.MethodGet {
		return 0
	}
	id, err := strconv.ParseInt(p.Request.FormValue("confirm"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

func setActive(p *frontend.PanelContext, active bool) error {
	users, err := registry.Get[*UserService](p.Container)
	if err != nil {
		return fmt.Errorf("the user service is not available: %w", err)
	}
	raw := p.Request.PostFormValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a user ID", raw)
	}
	u, err := users.Update(p.Request.Context(), id, UpdateUserParams{Active: &active, Actor: panelActor(p)})
	switch {
	case errors.Is(err, ErrSelf):
		return errors.New("you cannot deactivate your own account")
	case errors.Is(err, ErrLastAdmin):
		return errors.New("this is the last active admin; make another account an admin first")
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("there is no account %d: it may have been deleted; reload the panel", id)
	case err != nil:
		return p.Problem("cannot update the account", err)
	}
	if active {
		p.Notice = u.Email + " is active again."
	} else {
		p.Notice = u.Email + " is deactivated; their sessions are revoked."
	}
	return nil
}

// panelActor is the ID of the account signed in to the dashboard, for the
// admin rules; 0 when the dashboard runs without this service's login (in
// development, or behind basic auth), where only the last-admin rule can
// apply.
func panelActor(p *frontend.PanelContext) int64 {
	op, ok := p.Operator()
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(op.ID, 10, 64)
	if err != nil {
		return 0
	}
	return id
}

func activateAction(p *frontend.PanelContext) error   { return setActive(p, true) }
func deactivateAction(p *frontend.PanelContext) error { return setActive(p, false) }

// thousands writes n with thousands separators: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// shortQuery reports whether List matches q at the start of the email or
// username only.
func shortQuery(q string) bool {
	n := utf8.RuneCountInString(searchTerm(q))
	return n > 0 && n < MinSubstring
}
