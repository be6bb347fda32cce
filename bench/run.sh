#!/usr/bin/env bash
# Benchmarks of the generator and the generated base app (issue 3). Prints the numbers recorded in
# bench/RESULTS.md. Installs wrk and hyperfine from Debian when absent (needs root or sudo).
#   bash bench/run.sh            # everything
#   bash bench/run.sh init|rps|startup
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

need() {
	command -v "$1" >/dev/null && return
	echo "installing $1"
	if [ "$(id -u)" = 0 ]; then apt-get install -y -qq "$1" >/dev/null; else sudo apt-get install -y -qq "$1" >/dev/null; fi
}

go build -o "$work/aegis" ./cmd/aegis
"$work/aegis" init benchapp --no-interactive -o "$work" --module example.com/benchapp >/dev/null
(cd "$work/benchapp" && CGO_ENABLED=0 go build -trimpath -o "$work/app" ./cmd/benchapp)

if [ "$what" = all ] || [ "$what" = init ]; then
	echo "== aegis init: in-process render only (go test -bench BenchmarkRender)"
	go test -run '^$' -bench BenchmarkRender -benchmem -count 5 ./internal/generate | grep -E '^Benchmark'
	echo "== aegis init: in-process render + plan + atomic write (go test -bench BenchmarkInit)"
	go test -run '^$' -bench BenchmarkInit -benchmem -count 5 ./internal/project | grep -E '^Benchmark'
	need hyperfine
	echo "== aegis init: whole CLI process, base app (hyperfine)"
	hyperfine -N --warmup 3 --runs 30 --prepare "rm -rf $work/h" "$work/aegis init h --no-interactive -o $work/h" 2>/dev/null | grep -E 'Time|Range'
	echo "== aegis init: whole CLI process, everything available (hyperfine)"
	all=$("$work/aegis" components --json | awk -F'"' '/"name"/ {n=$4} /"status": "available"/ && n != "backend" && n != "frontend" {printf "%s%s", sep, n; sep=","}')
	svcs=$("$work/aegis" services --json | awk -F'"' '/"name"/ {n=$4} /"status": "available"/ {printf "%s%s", sep, n; sep=","}')
	echo "   --components $all --services $svcs"
	hyperfine -N --warmup 3 --runs 30 --prepare "rm -rf $work/h" "$work/aegis init h --no-interactive -o $work/h --components $all --services $svcs" 2>/dev/null | grep -E 'Time|Range'
	if [ -d /dev/shm ]; then
		echo "== the same two on tmpfs (/dev/shm): the generator's own cost, without the disk's file-creation latency"
		hyperfine -N --warmup 3 --runs 30 --prepare "rm -rf /dev/shm/aegis-bench" "$work/aegis init h --no-interactive -o /dev/shm/aegis-bench" 2>/dev/null | grep -E 'Time|Range'
		hyperfine -N --warmup 3 --runs 30 --prepare "rm -rf /dev/shm/aegis-bench" "$work/aegis init h --no-interactive -o /dev/shm/aegis-bench --components $all --services $svcs" 2>/dev/null | grep -E 'Time|Range'
		rm -rf /dev/shm/aegis-bench
	fi
fi

if [ "$what" = all ] || [ "$what" = rps ]; then
	need wrk
	(cd bench/httpbench && go build -o "$work/bare" ./bare)
	port_app=8291 port_bare=8292
	APP_ENV=production LOG_LEVEL=warn HOST=127.0.0.1 PORT=$port_app GOMAXPROCS=1 taskset -c 0 "$work/app" serve >/dev/null 2>&1 &
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port_app/health/live" >/dev/null && break; sleep 0.05; done
	body=$(curl -fs "http://127.0.0.1:$port_app/health/live")
	GOMAXPROCS=1 taskset -c 0 "$work/bare" -addr "127.0.0.1:$port_bare" -body "$body" &
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port_bare/health/live" >/dev/null && break; sleep 0.05; done
	echo "== GET /health/live, server pinned to core 0 (GOMAXPROCS=1), wrk -t1 -c50 -d10s pinned to core 1; body $body"
	for port in $port_app $port_bare; do taskset -c 1 wrk -t1 -c50 -d3s "http://127.0.0.1:$port/health/live" >/dev/null; done # warm-up
	for round in 1 2 3 4 5; do
		app=$(taskset -c 1 wrk -t1 -c50 -d10s "http://127.0.0.1:$port_app/health/live" | awk '/Requests\/sec/ {print $2}')
		bare=$(taskset -c 1 wrk -t1 -c50 -d10s "http://127.0.0.1:$port_bare/health/live" | awk '/Requests\/sec/ {print $2}')
		echo "round $round: generated app $app req/s, bare net/http $bare req/s, ratio $(awk "BEGIN {printf \"%.1f%%\", 100*$app/$bare}")"
	done
fi

if [ "$what" = all ] || [ "$what" = startup ]; then
	(cd bench/httpbench && go build -o "$work/startup" ./startup)
	echo "== start-up: exec to first 200 from /health/ready (base app, 30 runs)"
	"$work/startup" -bin "$work/app" -runs 30
fi
