#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run) and what the README's Quick start calls.
# It needs Go 1.26 and fetches modules through the Go module proxy on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Real servers for the integration tests: use the ones running, start them when absent.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
	as_root apt-get update -qq >/dev/null 2>&1 || true
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_postgres() {
	port_open 5432 && return
	step "starting PostgreSQL"
	command -v pg_ctlcluster >/dev/null || apt_install postgresql
	local version
	version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$version" ]; then
		version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
		as_root pg_createcluster "$version" main >/dev/null
	fi
	# Trust local TCP connections: these are throw-away test servers.
	as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "/etc/postgresql/$version/main/pg_hba.conf"
	as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
	for _ in $(seq 50); do port_open 5432 && return; sleep 0.2; done
	echo "PostgreSQL did not start"; exit 1
}

start_redis() {
	port_open 6379 && return
	step "starting Redis"
	command -v redis-server >/dev/null || apt_install redis-server
	redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	for _ in $(seq 50); do port_open 6379 && return; sleep 0.2; done
	echo "Redis did not start"; exit 1
}

# The dashboard's browser tests drive Debian's Chromium (they skip, saying so, when it is absent).
if ! command -v chromium >/dev/null; then
	step "installing Chromium for the dashboard's browser tests"
	apt_install chromium || echo "Chromium could not be installed: the browser tests will skip"
fi

# The observability component's /metrics tests check the scrape with promtool from Debian's
# prometheus package (they parse it with Prometheus's text parser alone when it is absent).
if ! command -v promtool >/dev/null; then
	step "installing Debian's prometheus for promtool"
	apt_install prometheus || echo "prometheus could not be installed: /metrics is checked by the text parser alone"
fi

# The interactive form's terminal test drives aegis in tmux (it skips, saying so, when absent).
if ! command -v tmux >/dev/null; then
	step "installing tmux for the terminal screen test"
	apt_install tmux || echo "tmux could not be installed: the terminal screen test will skip"
fi

# The comms service's SMTP tests start their own Mailpit on free ports (they skip, saying so,
# when it is absent): install the pinned version when it is missing.
install_mailpit() {
	local bin
	bin="$(go env GOPATH)/bin/mailpit"
	command -v mailpit >/dev/null || [ -x "$bin" ] && return
	step "installing Mailpit for the comms service's SMTP tests"
	go install github.com/axllent/mailpit@v1.33.1 || echo "Mailpit could not be installed: the SMTP tests will skip"
}

# The observability tests export traces to a Jaeger of their own on free ports and read them
# back through its query API (they skip, saying so, when it is absent). `go install` cannot
# build it (Jaeger's go.mod has a replace directive), so build the pinned module from a
# writable copy with its own go.mod and go.sum; it is large (about 6 minutes on 2 cores).
install_jaeger() {
	local bin dir tmp
	bin="$(go env GOPATH)/bin/jaeger-all-in-one"
	command -v jaeger-all-in-one >/dev/null || [ -x "$bin" ] && return
	step "building Jaeger all-in-one for the observability tests"
	if dir=$(go mod download -json github.com/jaegertracing/jaeger@v1.75.0 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') && [ -n "$dir" ] &&
		tmp=$(mktemp -d) && cp -r "$dir" "$tmp/jaeger" && chmod -R u+w "$tmp/jaeger" &&
		(cd "$tmp/jaeger" && go build -o "$bin" ./cmd/all-in-one); then
		:
	else
		echo "Jaeger could not be built: the Jaeger trace tests will skip"
	fi
	[ -n "${tmp:-}" ] && rm -rf "$tmp"
	return 0
}

start_postgres
start_redis
install_mailpit
install_jaeger
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

step "go mod download"
go mod download

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "go test (generator, reference app, stack matrix, dashboard in Chromium)"
# Screenshots of the browser tests are kept under build/test-output/_artifacts.
rm -rf build/test-output && mkdir -p build/test-output
# The bound is for a hung test, not a budget: the stack matrix (cmd/aegis), the longest
# package, took 10 minutes on 2026-12-05 (58 on a slow day before its stacks shared one
# folder); the whole run's budget is 90 minutes.
go test -count=1 -timeout 80m -artifacts -outputdir "$PWD/build/test-output" ./...
echo "$(find build/test-output -name '*.png' | wc -l) screenshots under build/test-output/_artifacts"

step "go test -race (service layer and HTTP runtime)"
go test -count=1 -race ./template/internal/runtime/... ./template/internal/components/backend/...

for mod in bench/*/; do
	if [ -f "$mod/go.mod" ]; then
		step "go vet + test in $mod (benchmarks compile and their checks pass)"
		(cd "$mod" && go vet ./... && go test -count=1 -run . -bench . -benchtime 1x ./...)
	fi
done

step "all tests passed"
