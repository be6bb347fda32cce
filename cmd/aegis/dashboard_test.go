package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/aegisgo/aegis/internal/catalog"
)

// TestDashboardInBrowser is the dashboard's end-to-end test: a generated app with everything
// selected, driven by headless Chromium through chromedp, twice. In production on PostgreSQL
// and Redis, an operator signs in, sees every card healthy, retries a failed job, runs a
// scheduled job, deactivates a user, and watches the cache and then the database go down. In
// development on the embedded defaults (SQLite, in-memory cache), the first thing a new user
// opens: no login on this machine, every card healthy, a scheduled job run and a user
// deactivated. Screenshots of every page land in the test's artifact directory
// (go test -run TestDashboardInBrowser -artifacts -outputdir DIR ./cmd/aegis keeps them).
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the dashboard's browser test builds a whole project; run without -short")
	}
	chrome := chromiumBinary(t)
	dir, bin := buildEverything(t)
	t.Run("production on PostgreSQL and Redis", func(t *testing.T) { productionDashboard(t, chrome, dir, bin) })
	t.Run("development on SQLite", func(t *testing.T) { developmentDashboard(t, chrome, dir, bin) })
	t.Run("API docs under their CSP", func(t *testing.T) { docsInBrowser(t, chrome, dir, bin) })
}

// productionDashboard: the database is "stopped" by cutting a TCP proxy the app reaches it
// through: the shared PostgreSQL server other packages test against in parallel must stay up,
// and to the app a cut proxy is a stopped server (refused connections, broken pooled ones).
// Redis is a private redis-server, killed for real.
func productionDashboard(t *testing.T, chrome, dir, bin string) {
	pgBase := os.Getenv("TEST_DATABASE_URL")
	if pgBase == "" {
		t.Skip("TEST_DATABASE_URL is unset; the production dashboard test runs on PostgreSQL (scripts/test.sh sets it)")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH; install it with: apt-get install -y redis-server")
	}

	dbURL := freshPostgres(t, pgBase)
	u, _ := neturl.Parse(dbURL)
	proxy := startProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.Addr()
	redis := startRedis(t, redisBin)
	// A production app with comms sends through a real provider (the development outbox
	// reports itself degraded in production): SMTP to a Mailpit of the test's own.
	smtpPort := startMailpit(t)

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{
		"APP_ENV=production", "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port),
		"DATABASE_URL=" + proxied.String(), "AUTO_MIGRATE=false",
		"CACHE_URL=redis://" + redis.addr + "/0",
		"AUTH_SECRET=" + randomHex(t, 32),
		"WORKER_IN_PROCESS=true", "SCHEDULER_IN_PROCESS=true",
		"HEALTH_TIMEOUT=1s", "LOG_LEVEL=warn",
		"COMMS_EMAIL_PROVIDER=smtp", "COMMS_SMTP_HOST=127.0.0.1", "COMMS_SMTP_PORT=" + strconv.Itoa(smtpPort),
		"COMMS_SMTP_TLS_POLICY=none", "COMMS_SMTP_AUTH=none",
	}
	env = append(env, aiProfile...)
	runApp(t, bin, dir, env, "migrate", "up")
	const adminPassword = "correct horse battery staple"
	runApp(t, bin, dir, env, "users", "create-admin", "--email", "admin@example.com", "--username", "admin", "--password", adminPassword)
	stopApp := startServe(t, bin, dir, env, base)

	// State an operator would find: a user to deactivate and a job that failed for good.
	postJSON(t, base+"/api/v1/auth/register", `{"email":"alice@example.com","username":"alice","password":"a long enough password 42"}`, http.StatusCreated)
	db := connect(t, dbURL)
	var jobID int64
	if err := db.QueryRow(t.Context(), `INSERT INTO river_job (args, attempt, attempted_at, errors, finalized_at, kind, max_attempts, queue, state, metadata)
		VALUES ('{"email":"bob@example.com"}', 5, now(), ARRAY['{"at":"2026-11-23T10:00:00Z","attempt":5,"error":"smtp: dial tcp 10.0.0.9:587: connection refused","trace":""}'::jsonb],
		now(), 'send_welcome', 5, 'default', 'discarded', '{}') RETURNING id`).Scan(&jobID); err != nil {
		t.Fatalf("insert a discarded job: %v", err)
	}

	// Without a session: pages send to the login, fragments and actions answer 401.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/": http.StatusSeeOther, "/dashboard/fragments/overview": http.StatusUnauthorized, "/dashboard/panels/users/actions/deactivate": http.StatusUnauthorized} {
		method := http.MethodGet
		if strings.Contains(path, "/actions/") {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %s without a session: %d, want %d", method, path, resp.StatusCode, want)
		}
	}

	b := newBrowser(t, chrome)

	// Sign in: a wrong password is refused on the page, the right one lands on the overview.
	b.run("login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if loc := b.location(); !strings.Contains(loc, "/dashboard/login") {
		t.Fatalf("the overview without a session went to %s, want the login page", loc)
	}
	b.shot("login.png")
	b.audit("login")
	b.run("wrong password",
		chromedp.SendKeys(chromedp.CSS(`#login`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	b.shot("login-refused.png")
	b.run("sign in",
		script(`document.getElementById('login').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`#login`), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live .card`)))

	b.allHealthy()
	b.shot("overview.png")
	b.audit("overview")
	b.run("phone width", chromedp.EmulateViewport(390, 844))
	b.shot("overview-phone.png")
	if overflow := b.text(`String(document.documentElement.scrollWidth > window.innerWidth)`); overflow != "false" {
		t.Error("the overview scrolls sideways at a 390px phone width")
	}
	b.run("desktop width", chromedp.EmulateViewport(1280, 1000))

	b.run("graph", chromedp.Navigate(base+"/dashboard/graph"), chromedp.WaitVisible(chromedp.CSS(`svg`)))
	b.shot("graph.png")
	b.audit("graph")
	b.run("routes", chromedp.Navigate(base+"/dashboard/routes"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	if routes := b.text(`document.querySelector('main').innerText`); !strings.Contains(routes, "/api/v1/auth/login") {
		t.Errorf("the routes page does not list /api/v1/auth/login:\n%s", routes)
	}
	b.shot("routes.png")
	b.audit("routes")

	// An action without the CSRF token is refused, even with the session cookie.
	status := b.text(`fetch('/dashboard/panels/jobs/actions/retry', {method: 'POST', body: new URLSearchParams({id: '` +
		strconv.FormatInt(jobID, 10) + `'})}).then(r => String(r.status))`)
	if status != "403" {
		t.Errorf("a retry posted without the CSRF token answered %s, want 403", status)
	}

	// Retry the failed job: the worker runs it and it completes.
	retry := fmt.Sprintf(`form:has(input[name=id][value="%d"]) button`, jobID)
	b.run("jobs panel", chromedp.Navigate(base+"/dashboard/panels/jobs"), chromedp.WaitVisible(chromedp.CSS(retry)))
	if page := b.text(`document.querySelector('main').innerText`); !strings.Contains(page, "connection refused") {
		t.Errorf("the failed job's error is not on the jobs panel:\n%s", page)
	}
	b.shot("jobs.png")
	b.audit("jobs panel")
	b.run("retry", chromedp.Click(chromedp.CSS(retry)), chromedp.WaitVisible(chromedp.CSS(`[role=status]`)))
	waitDB(t, db, "the retried job completes", `SELECT state::text = 'completed' FROM river_job WHERE id = $1`, jobID)
	b.run("jobs panel again", chromedp.Navigate(base+"/dashboard/panels/jobs"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	if page := b.text(`document.querySelector('main').innerText`); !strings.Contains(page, "completed") || !strings.Contains(page, "No failed jobs") {
		t.Errorf("the jobs panel does not show the retried job completed:\n%s", page)
	}
	b.shot("jobs-retried.png")

	// Run a scheduled job now: its run is recorded.
	run := `form:has(input[name=job][value="example_heartbeat"]) button`
	b.run("scheduler panel", chromedp.Navigate(base+"/dashboard/panels/scheduler"), chromedp.WaitVisible(chromedp.CSS(run)))
	b.run("run now", chromedp.Click(chromedp.CSS(run)), chromedp.WaitVisible(chromedp.CSS(`[role=status]`)))
	waitDB(t, db, "the manual run is recorded", `SELECT count(*) > 0 FROM scheduler_runs WHERE job = 'example_heartbeat' AND outcome IN ('ok', 'enqueued')`)
	b.shot("scheduler.png")
	b.audit("scheduler panel")

	// Deactivate alice: she can no longer sign in.
	deactivate := `form[hx-post$="/deactivate"] button`
	b.run("users panel", chromedp.Navigate(base+"/dashboard/panels/users?q=alice"), chromedp.WaitVisible(chromedp.CSS(deactivate)))
	b.shot("users.png")
	b.audit("users panel")
	b.confirmYes()
	b.run("deactivate", chromedp.Click(chromedp.CSS(deactivate)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/activate"] button`)))
	b.confirmed("alice@example.com")
	waitDB(t, db, "alice is inactive", `SELECT NOT active FROM auth_users WHERE username = 'alice'`)
	postJSON(t, base+"/api/v1/auth/login", `{"login":"alice","password":"a long enough password 42"}`, http.StatusUnauthorized)
	if page := b.text(`document.querySelector('main').innerText`); !strings.Contains(page, "alice@example.com is deactivated") {
		t.Errorf("the users panel was not swapped with the outcome:\n%s", page)
	}
	b.shot("users-deactivated.png")

	// Outages show on the overview without a reload.
	b.run("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#card-cache.card-healthy`)))
	stopped := time.Now()
	redis.stop()
	b.waitJS("the cache card turns unhealthy", `!!document.querySelector('#card-cache.card-unhealthy')`, 20*time.Second)
	t.Logf("the cache card turned unhealthy %s after Redis stopped (polling every 2 s)", time.Since(stopped).Round(100*time.Millisecond))
	b.shot("cache-down.png")
	stopped = time.Now()
	proxy.Close()
	b.waitJS("the database card turns unhealthy", `!!document.querySelector('#card-database.card-unhealthy')`, 20*time.Second)
	t.Logf("the database card turned unhealthy %s after the database went away", time.Since(stopped).Round(100*time.Millisecond))
	// auth passes its own check but cannot work: its card says what it waits on.
	b.waitJS("the auth card names the database", `((document.getElementById('card-auth.AuthService') || document).querySelector('.blocked') || {textContent: ''}).textContent.includes('database')`, 10*time.Second)
	b.shot("database-down.png")

	// The app itself goes away: the page must not go on showing its last answer as current.
	if b.text(`String(document.getElementById('stale').hidden)`) != "true" {
		t.Error("the stale-data banner shows while refreshes succeed")
	}
	if out, err := stopApp(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM; output:\n%s", err, out)
	}
	b.waitJS("the page says its data is stale", `!document.getElementById('stale').hidden &&
		document.body.classList.contains('is-stale')`, 20*time.Second)
	b.shot("app-down.png")
	t.Logf("screenshots: %s", t.ArtifactDir())
}

// developmentDashboard runs the app as `aegis init` leaves it: development, SQLite, the
// in-memory cache, and the dashboard open to this machine without a login.
func developmentDashboard(t *testing.T, chrome, dir, bin string) {
	model := startFakeModel(t)
	base := serveDevelopment(t, bin, dir, "AI_LOCAL_BASE_URL="+model+"/v1")
	postJSON(t, base+"/api/v1/auth/register", `{"email":"carol@example.com","username":"carol","password":"a long enough password 42"}`, http.StatusCreated)
	// carol chats before she is deactivated below: the AI panel then has a conversation and a
	// day of tokens to show.
	token := accessToken(t, base, "carol", "a long enough password 42")
	chatOnce(t, base, token, "Name a colour of the sky")

	b := newBrowser(t, chrome)
	b.run("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#live .card`)))
	if loc := b.location(); loc != base+"/" {
		t.Errorf("the overview in development went to %s, want no login on this machine", loc)
	}
	b.allHealthy()
	b.shot("overview.png")
	b.audit("overview")

	run := `form:has(input[name=job][value="example_heartbeat"]) button`
	b.run("scheduler panel", chromedp.Navigate(base+"/dashboard/panels/scheduler"), chromedp.WaitVisible(chromedp.CSS(run)))
	b.run("run now", chromedp.Click(chromedp.CSS(run)), chromedp.WaitVisible(chromedp.CSS(`[role=status]`)))
	if page := b.text(`document.querySelector('main').innerText`); !strings.Contains(page, "Ran example_heartbeat.") {
		t.Errorf("the scheduler panel does not report the run:\n%s", page)
	}
	b.shot("scheduler.png")

	deactivate := `form[hx-post$="/deactivate"] button`
	b.run("users panel", chromedp.Navigate(base+"/dashboard/panels/users?q=carol"), chromedp.WaitVisible(chromedp.CSS(deactivate)))
	b.confirmYes()
	b.run("deactivate", chromedp.Click(chromedp.CSS(deactivate)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/activate"] button`)))
	b.confirmed("carol@example.com")
	postJSON(t, base+"/api/v1/auth/login", `{"login":"carol","password":"a long enough password 42"}`, http.StatusUnauthorized)
	if page := b.text(`document.querySelector('main').innerText`); !strings.Contains(page, "carol@example.com is deactivated") {
		t.Errorf("the users panel was not swapped with the outcome:\n%s", page)
	}
	if q := b.text(`document.getElementById('user-q').value`); q != "carol" {
		t.Errorf("after the action the users panel searches %q, want the search kept (carol)", q)
	}
	b.shot("users-deactivated.png")

	b.run("jobs panel", chromedp.Navigate(base+"/dashboard/panels/jobs"), chromedp.WaitVisible(chromedp.CSS(`main h2`)))
	b.shot("jobs.png")
	b.audit("jobs panel")

	// The AI panel: the profile, carol's conversation and the usage chart, whose bars have
	// titles (the chart is server-rendered SVG, so it is there once the panel is).
	b.run("ai panel", chromedp.Navigate(base+"/dashboard/panels/ai"), chromedp.WaitVisible(chromedp.CSS(`main svg`)))
	b.waitJS("the ai panel shows the conversation", `document.querySelector('main').innerText.includes('Name a colour of the sky')`, 10*time.Second)
	page := b.text(`document.querySelector('main').innerText`)
	for _, want := range []string{"default", "local", "llama3.2", "Name a colour of the sky"} {
		if !strings.Contains(page, want) {
			t.Errorf("the ai panel does not show %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "No AI calls") {
		t.Errorf("the ai panel shows no calls after one chat:\n%s", page)
	}
	if title := b.text(`(document.querySelector('main svg title') || {textContent: ''}).textContent`); title == "" {
		t.Error("the ai panel's usage chart has no <title>")
	}
	if today := b.text(`[...document.querySelectorAll('main svg title')].map(e => e.textContent).pop() || ''`); !strings.HasSuffix(today, fakeModelTokens) {
		t.Errorf("the chart's last bar (today) says %q, want the chat's %s", today, fakeModelTokens)
	}
	b.shot("ai.png")
	b.audit("ai")
}

// fakeModelTokens is what the chart's bar says for one answer of startFakeModel: 12 prompt
// and 5 completion tokens.
const fakeModelTokens = "17 tokens"

// startFakeModel serves OpenAI's chat completions (non-streaming) as a local model would, and
// returns its base URL; the app under test reaches it over loopback.
func startFakeModel(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model string `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": "Blue, on a clear day."}}},
			"usage": map[string]any{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// accessToken signs in through the auth API and returns the access token.
func accessToken(t *testing.T, base, login, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("login as %s: %d, %v", login, resp.StatusCode, err)
	}
	return tok.AccessToken
}

// chatOnce asks the app's chat API one question (JSON, not streamed) and checks the answer
// came from the fake model.
func chatOnce(t *testing.T, base, token, prompt string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/ai/chat", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res struct {
		ConversationID int64  `json:"conversation_id"`
		Content        string `json:"content"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil || res.Content != "Blue, on a clear day." || res.ConversationID == 0 {
		t.Fatalf("POST /api/v1/ai/chat: %d %s", resp.StatusCode, raw)
	}
}

// cspRecorder runs before any script of every page: it keeps each Content-Security-Policy
// violation the page reports in window.__cspViolations, for the test to read.
const cspRecorder = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
	window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') +
		(e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : '') + (e.sample ? ': ' + e.sample : ''));
});`

// docsInBrowser opens /docs, which is served under a strict Content-Security-Policy (scripts
// from its own files only, connections to this origin only), and checks that Swagger UI works
// under it: the API is rendered with the app's title and its operations, "Try it out" and
// "Execute" on GET /health/ready shows the response (a fetch under connect-src 'self'), and
// the page reports no CSP violation, console error or uncaught exception on the way.
func docsInBrowser(t *testing.T, chrome, dir, bin string) {
	base := serveDevelopment(t, bin, dir)

	b := newBrowser(t, chrome)
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
	)
	consoleCtx, stopConsole := context.WithCancel(b.ctx)
	console := chromedp.Console(consoleCtx) // subscribed now, before the page loads
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()
	b.run("record CSP violations", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder})
		return err
	}))

	navCtx, cancelNav := context.WithTimeout(b.ctx, time.Minute)
	resp, err := chromedp.RunResponse(navCtx, chromedp.Navigate(base+"/docs"))
	cancelNav()
	if err != nil {
		t.Fatalf("open /docs: %v", err)
	}
	if csp, _ := resp.Headers["Content-Security-Policy"].(string); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("/docs was served without its Content-Security-Policy: %q", csp)
	}
	b.waitJS("Swagger UI renders the API", `(document.querySelector('.swagger-ui .info .title')?.textContent || '').includes('app') &&
		document.querySelectorAll('.swagger-ui .opblock').length > 0`, 30*time.Second)
	if n := b.text(`String(document.querySelectorAll('.swagger-ui .opblock').length)`); n == "0" {
		t.Errorf("Swagger UI shows no operation")
	}

	// diagnose tells what the page reported, for a step that failed.
	diagnose := func() string {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.__cspViolations || []).join('\n')`))
		mu.Lock()
		defer mu.Unlock()
		var out strings.Builder
		fmt.Fprintf(&out, "CSP violations:\n%s\nconsole:\n", v)
		for _, m := range messages {
			fmt.Fprintf(&out, "  %s (%s:%d)\n", m, m.URL, m.Line)
		}
		return out.String()
	}
	op := `#operations-health-health-ready`
	b.run("expand the readiness probe", chromedp.Click(chromedp.CSS(op+` .opblock-summary-control`)),
		chromedp.WaitVisible(chromedp.CSS(op+` .try-out__btn`)))
	b.run("try it out", chromedp.Click(chromedp.CSS(op+` .try-out__btn`)),
		chromedp.WaitVisible(chromedp.CSS(op+` .btn.execute`)))
	b.run("execute", chromedp.Click(chromedp.CSS(op+` .btn.execute`)))
	waitCtx, cancelWait := context.WithTimeout(b.ctx, 30*time.Second)
	_, err = chromedp.Run(waitCtx, chromedp.Poll[bool](`(document.querySelector('`+op+` .live-responses-table tr.response .response-col_status')?.textContent || '').trim() === '200'`,
		chromedp.WithPollingInterval(100*time.Millisecond)))
	cancelWait()
	if err != nil {
		b.shot("failed-execute.png")
		t.Fatalf("no response of GET /health/ready shown after Execute: %v\n%s\noperation:\n%s", err, diagnose(),
			b.text(`document.querySelector('`+op+`').innerText`))
	}
	if body := b.text(`document.querySelector('` + op + ` .live-responses-table tr.response .response-col_description').innerText`); !strings.Contains(body, `"ready"`) {
		t.Errorf("the live response of GET /health/ready does not show the body:\n%s", body)
	}
	b.shot("docs.png")

	if v := b.text(`window.__cspViolations ? window.__cspViolations.join('\n') : 'the recorder did not run'`); v != "" {
		t.Errorf("CSP violations on /docs:\n%s", v)
	}
	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, m := range messages {
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue // the browser asks for one on its own; the app has none (404)
		}
		if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
			t.Errorf("console of /docs: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
	// The recorder does see a violation: an inline script, which the policy refuses. (Code the
	// test evaluates through DevTools is exempt from the policy, so it adds the script instead.)
	b.run("inline script on /docs", script(`document.body.appendChild(Object.assign(document.createElement('script'), {textContent: 'window.__inlineRan = true'}))`))
	b.waitJS("the refused inline script reported", `window.__cspViolations.some(v => v.startsWith('script-src'))`, 10*time.Second)
	if ran := b.text(`String(window.__inlineRan === true)`); ran != "false" {
		t.Errorf("an inline script ran on /docs despite script-src 'self'")
	}
}

// allHealthy waits until the overview shows every card healthy (a component still starting
// may need a refresh or two) and checks the components of the full selection are there.
func (b *browser) allHealthy() {
	b.t.Helper()
	const unhealthy = `Array.from(document.querySelectorAll('#live li.card:not(.card-healthy)')).map(c => c.id + ': ' + (c.querySelector('.msg') || c).innerText.trim())`
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#live li.card').length >= 8 && `+unhealthy+`.length === 0`,
		chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		// The cards that are not healthy, first: the whole page is long and CI cuts output.
		b.shot("failed-every-card-healthy.png")
		b.t.Fatalf("every card healthy: not within 20s: %v; not healthy: %s", err, b.text(unhealthy+`.join('; ')`))
	}
	cards := b.text(`Array.from(document.querySelectorAll('#live li.card')).map(c => c.id).join(' ')`)
	for _, want := range []string{"card-database", "card-cache", "card-worker", "card-scheduler", "card-auth.AuthService"} {
		if !strings.Contains(cards, want) {
			b.t.Errorf("the overview has no %s card; cards: %s", want, cards)
		}
	}
}

// chromiumBinary finds Chromium or skips, naming the package to install.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (chromium, chromium-browser or google-chrome on PATH); install it with: apt-get install -y chromium")
	return ""
}

// buildEverything generates the app with every available component and service and builds
// its binary; it returns the project folder and the binary.
func buildEverything(t *testing.T) (dir, bin string) {
	t.Helper()
	stacks := coveringStacks(catalog.Default)
	sel := stacks[len(stacks)-1]
	if sel.name != "everything" {
		t.Fatalf("the last covering stack is %s, want everything", sel.name)
	}
	root := t.TempDir()
	args := []string{"init", "app", "--no-interactive", "-o", root, "--module", "example.com/stack",
		"--components", strings.Join(catalog.Default.Optional(sel.sel), ","), "--services", strings.Join(sel.sel.Services, ",")}
	if code, _, stderr := runAegis(t, args...); code != 0 {
		t.Fatalf("aegis %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	dir = filepath.Join(root, "app")
	bin = filepath.Join(dir, "bin", "app")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/app")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}

// runApp runs one command of the generated binary with env added to this process's, and
// fails the test when it fails.
func runApp(t *testing.T, bin, dir string, env []string, args ...string) string {
	t.Helper()
	return runIn(t, dir, append(os.Environ(), env...), append([]string{bin}, args...)...)
}

// runIn runs a command in dir with exactly env, within a minute, and returns its output; a
// failure fails the test.
func runIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serveDevelopment starts `app serve` as `aegis init` leaves it (development, SQLite in a
// temporary directory, the in-memory cache) on a free port, with extraEnv on top, and returns
// its base URL.
func serveDevelopment(t *testing.T, bin, dir string, extraEnv ...string) string {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{
		"APP_ENV=development", "HOST=127.0.0.1", "PORT=" + strconv.Itoa(port),
		"DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "app.db"), "CACHE_URL=", "LOG_LEVEL=warn",
	}
	env = append(append(env, aiProfile...), extraEnv...) // the last of a variable wins
	startServe(t, bin, dir, env, base)
	return base
}

// startServe starts `app serve` with env added, waits for base+/health/ready and returns a
// stop func (see startProcess).
func startServe(t *testing.T, bin, dir string, env []string, base string) (stop func() (output string, err error)) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return startProcess(t, cmd, func() error {
		resp, err := http.Get(base + "/health/ready")
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s/health/ready answered %d", base, resp.StatusCode)
		}
		return nil
	})
}

// startProcess starts cmd, polls ready until it returns nil (30 s at most) and returns a stop
// func: SIGTERM, then the exit error and the combined output. The test's cleanup stops it too
// (a second stop is a no-op) and shows the output when the test failed.
func startProcess(t *testing.T, cmd *exec.Cmd, ready func() error) (stop func() (output string, err error)) {
	t.Helper()
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	var exitErr error
	stop = func() (string, error) {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case exitErr = <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				exitErr = errors.New("still running 30 s after SIGTERM; killed")
			}
		})
		return out.String(), exitErr
	}
	t.Cleanup(func() {
		if output, _ := stop(); t.Failed() {
			t.Logf("%s output:\n%s", strings.Join(cmd.Args, " "), output)
		}
	})
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err // for stop
			t.Fatalf("%s exited before it was ready: %v\n%s", strings.Join(cmd.Args, " "), err, out.String())
		default:
		}
		if err = ready(); err == nil {
			return stop
		}
	}
	t.Fatalf("%s never became ready (%v):\n%s", strings.Join(cmd.Args, " "), err, out.String())
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func postJSON(t *testing.T, url, body string, want int) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d, want %d: %s", url, resp.StatusCode, want, b)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitDB polls a boolean query until it is true; what the browser did must reach the
// database, and the worker or scheduler may take a moment.
func waitDB(t *testing.T, db *pgx.Conn, what, query string, args ...any) {
	t.Helper()
	var ok bool
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = db.QueryRow(t.Context(), query, args...).Scan(&ok); err == nil && ok {
			return
		}
	}
	t.Fatalf("%s: not so after 30 s (last error: %v)", what, err)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// script is an action that runs JavaScript on the page for its effect.
func script(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, t)
		return err
	})
}

// browser is one headless Chromium tab; a failed step saves a screenshot named after it.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, exec string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// run performs actions with a minute's budget; on failure it saves failed-STEP.png.
func (b *browser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(step, " ", "-") + ".png")
		b.t.Fatalf("%s: %v (page: %s)", step, err, b.location())
	}
}

// confirmYes answers yes to the page's next confirmation (window.confirm, what htmx's
// hx-confirm asks with; a headless tab would otherwise wait on the dialog) and notes its text.
func (b *browser) confirmYes() {
	b.t.Helper()
	b.text(`(window.confirm = function (m) { window.askedToConfirm = m; return true; }, "")`)
}

// confirmed checks that the page asked for confirmation naming about.
func (b *browser) confirmed(about string) {
	b.t.Helper()
	if asked := b.text(`String(window.askedToConfirm || "")`); !strings.Contains(asked, about) {
		b.t.Errorf("the page did not ask to confirm the action on %s (asked %q)", about, asked)
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// text evaluates a JavaScript expression (awaiting a promise) and returns its string value.
func (b *browser) text(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// waitJS waits until a JavaScript condition holds on the page as it updates itself; the page
// is not reloaded, so this proves the live refresh.
func (b *browser) waitJS(what, cond string, limit time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-") + ".png")
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.t.Fatalf("%s: not within %s: %v\n%s", what, limit, err, html)
	}
}

// a11yAudit lists what would stop a keyboard or screen-reader user on the page: controls
// without an accessible name or taken out of the tab order, inputs without a label, images
// without alt text, and a page without a language or without exactly one h1.
const a11yAudit = `(() => {
	const problems = [];
	const name = el => (el.getAttribute('aria-label') || el.innerText || el.textContent || el.value || el.title || '').trim();
	if (!document.documentElement.lang) problems.push('no lang on <html>');
	const h1 = document.querySelectorAll('h1').length;
	if (h1 !== 1) problems.push(h1 + ' h1 elements');
	for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
		if (el.tabIndex < 0) problems.push('not keyboard reachable: ' + el.outerHTML.slice(0, 80));
		if ((el.matches('input, select, textarea')) ? el.labels.length === 0 && !el.getAttribute('aria-label') : !name(el))
			problems.push('no accessible name: ' + el.outerHTML.slice(0, 80));
	}
	for (const img of document.querySelectorAll('img:not([alt])')) problems.push('img without alt: ' + img.outerHTML.slice(0, 80));
	for (const svg of document.querySelectorAll('main svg')) {
		if (!svg.getAttribute('aria-labelledby') && !svg.getAttribute('aria-label') && !svg.querySelector('title') && svg.getAttribute('aria-hidden') !== 'true')
			problems.push('svg without a title');
	}
	return problems.join('\n');
})()`

// audit fails the test with what a11yAudit finds on the current page.
func (b *browser) audit(page string) {
	b.t.Helper()
	if problems := b.text(a11yAudit); problems != "" {
		b.t.Errorf("accessibility of %s:\n%s", page, problems)
	}
}

// shot saves a full-page screenshot in the test's artifact directory.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.t.ArtifactDir(), name), png, 0o644); err != nil {
		b.t.Errorf("save screenshot %s: %v", name, err)
	}
}

// tcpProxy forwards connections to a target; Close refuses new ones and cuts open ones, which
// is what a stopped server looks like to a client.
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

func (p *tcpProxy) Addr() string { return p.l.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
	}
}

func (p *tcpProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *tcpProxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.l.Close()
	for c := range p.conns {
		c.Close()
	}
}

// redisServer is a private redis-server on a free port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	once sync.Once
}

func startRedis(t *testing.T, bin string) *redisServer {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(r.stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", r.addr)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", r.addr, err)
		}
	}
}

func (r *redisServer) stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Kill()
		err := r.cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "redis-server:", err)
		}
	})
}

// startMailpit runs Mailpit (the SMTP server the comms service's own tests use) on free ports
// until the test ends and returns its SMTP port; the test skips, naming the install command,
// when Mailpit is not installed.
func startMailpit(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		gobin := filepath.Join(build.Default.GOPATH, "bin", "mailpit")
		if _, statErr := os.Stat(gobin); statErr != nil {
			t.Skip("mailpit is not installed; install it with: go install github.com/axllent/mailpit@v1.33.1")
		}
		bin = gobin
	}
	smtpPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--smtp", "127.0.0.1:"+strconv.Itoa(smtpPort), "--listen", "127.0.0.1:"+strconv.Itoa(httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--quiet", "--smtp-disable-rdns")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(smtpPort))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return smtpPort
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit on %s did not start: %v", addr, err)
		}
	}
}

// aiProfile configures the ai service (unconfigured, it reports itself degraded): a local
// OpenAI-compatible model the test never calls, so the card is healthy.
var aiProfile = []string{"AI_PROVIDER=local", "AI_MODEL=llama3.2", "AI_LOCAL_BASE_URL=http://127.0.0.1:9/v1"}
