#!/usr/bin/env bash
# Issue 18, "A lean generated app": the generated app against its anchors, measured side by side
# in one run, and what grows with data. Installs wrk and hyperfine from Debian when absent.
#
#   bash bench/compare.sh            # rps + startup + idle (the default, "app")
#   bash bench/compare.sh rps|startup|idle|data|profile|all
#   bash bench/compare.sh spin       # what a microsecond more per request costs here (anchor b only)
#   bash bench/compare.sh obs        # issue 16: the app with observability against itself without
#   bash bench/compare.sh obs-startup # issue 16: what that start-up comparison can resolve (null comparisons)
#
# Builds: (a) bench/httpbench/bare (net/http, GET /health/live), (b) bench/httpbench/chihuma
# (chi + huma v2, one typed GET /api/v1/ping), and (g) the app aegis generates with every
# available component and service (SQLite), plus ONE user file, internal/services/ping.go, that
# registers GET /api/v1/ping through backend.Routes (so gp crosses the app's whole middleware).
#
#   rps      each server alone on core 0 (GOMAXPROCS=1), wrk -t1 -c50 on core 1, ROUNDS rounds
#            (order reversed every other round); per round g/a (/health/live), gp/b (ping),
#            gp/a; then the median of each ratio. The comparison's rule: the servers differ only in
#            what handles the request. So the anchors get the app's default http.Server timeouts
#            (backend settings.go: -read-header-timeout 5s -read-timeout 30s -write-timeout 30s
#            -idle-timeout 120s; net/http then sets read/write deadlines on the connection per
#            request, as it does for the app). PARITY=0 runs the anchors without timeouts
#            (http.ListenAndServe's defaults, as before).
#   startup  exec to first 200 on /health/ready, STARTS runs (bench/httpbench/startup), twice: the binary
#            read from the disk and just written (the page cache state changes it by 20 ms here).
#   idle     VmRSS 1 s and 10 s after ready (started cold, warm, and warm with the start-up pages
#            kept: APP_RELEASE_START_PAGES=false); CPU (utime+stime from /proc/PID/stat) and context
#            switches (all threads) over IDLE_SECS, as % of one core.
#   data     migrates a fresh database, fills it with bench/httpbench/datagen (JOBS river_job
#            rows, 97% completed / 3% discarded; USERS auth users), then p50/p90 of each health
#            endpoint and dashboard page (REQS requests each, at most BUDGET seconds per URL),
#            and the server's CPU while one viewer polls like the dashboard does (overview
#            fragment every 2 s; jobs panel fragment every 5 s) for IDLE_SECS. SQLite always;
#            PostgreSQL too when PG_URL is set (a database aegis_bench_lean is created on that
#            server, dropped first if present; CPU figures then add the local PostgreSQL
#            server's, all of it: other users of that server count too).
#   profile  a copy of the app with net/http/pprof on 127.0.0.1:PPROF_PORT (one more user file,
#            that binary only): CPU profile under wrk on /api/v1/ping, allocation profile,
#            CPU profile at idle, heap; GODEBUG=inittrace=1 and the debug log of one start.
#            Profiles land in OUT (default bench/out, not committed).
#
#   obs      the app generated WITH observability (one aegis init), built twice: as generated
#            (o) and with the observability imports taken out of internal/components/wire_gen.go
#            (n, the same app without the component). o exports over OTLP/HTTP to
#            bench/httpbench/otlpsink (on core 1, beside wrk), so it pays for encoding and sending
#            its spans. Per round, in alternating order: rps on /api/v1/ping (each server alone on
#            core 0, wrk -t1 -c50 on core 1) for n, o at 10% (OTEL_TRACES_SAMPLER=
#            parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1) and o at 100% (ARG=1.0),
#            with the ratios o10/n and o100/n (goals >= 0.85 and >= 0.7). Start-up: STARTS
#            pairs of starts in alternating order, each binary read whole first, exec to the
#            first 200 on /health/ready, twice: the binaries read from the disk, and just
#            written (fresh copies); the median of the pairs' differences with its 95%
#            interval, and page faults and CPU time at ready (goal: under 5 ms added). Idle RSS
#            1 s after ready, per round (goal: under 8 MiB added), each binary started cold
#            (its pages dropped from the page cache) and warm (read whole first), with the
#            private part (RssAnon). Medians over ROUNDS; obs defaults to ROUNDS=9 DURATION=4s STARTS=41: on
#            this VM a server's throughput moves by up to 40% from one 10 s window to the next,
#            so many short alternating rounds give a steadier median than three long ones.
#
# Environment: EXCLUDE=observability PARITY=1 ROUNDS=3 DURATION=10s STARTS=20 IDLE_SECS=20 JOBS=3000000 USERS=200000 REQS=30
# BUDGET=60 PG_URL= PORT_BASE=18450 PPROF_PORT=18459 APP_ENV=production LOG_LEVEL=info (the app's production defaults: JSON access
# log at info for API requests; probes log at debug) OUT=bench/out.
# Production needs AUTH_SECRET: the script passes the random one aegis init wrote to the app's
# .env. The data mode runs in development (the dashboard is open to loopback there; production
# would need DASHBOARD_USERNAME/PASSWORD); every request sends Host: 127.0.0.1:PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:-app}
if [ "$what" = obs ]; then ROUNDS=${ROUNDS:-9} DURATION=${DURATION:-4s} STARTS=${STARTS:-41}; fi
if [ "$what" = obs-startup ]; then ROUNDS=${ROUNDS:-6} STARTS=${STARTS:-41}; fi
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} STARTS=${STARTS:-20} IDLE_SECS=${IDLE_SECS:-20}
JOBS=${JOBS:-3000000} USERS=${USERS:-200000} REQS=${REQS:-30} BUDGET=${BUDGET:-60}
APP_MODE=${APP_ENV:-production} APP_LOG=${LOG_LEVEL:-info} OUT=${OUT:-$root/bench/out}
# The lean app is measured without the observability component (issue 18: its goals hold with
# observability absent); EXCLUDE= (empty) includes every available part.
export EXCLUDE=${EXCLUDE-observability}
# obs compares the app with the component against the same app without it: generate with it.
if [ "$what" = obs ] || [ "$what" = obs-startup ]; then EXCLUDE=$(printf '%s' "$EXCLUDE" | awk -v RS=, -v ORS=, '$0 != "observability" && $0 != ""' | sed 's/,$//'); fi
PG_URL=${PG_URL:-} PPROF_PORT=${PPROF_PORT:-18459} PARITY=${PARITY:-1}
# The anchors' server timeouts: the app's defaults (backend settings.go) unless PARITY=0.
anchor_timeouts=()
[ "$PARITY" = 0 ] || anchor_timeouts=(-read-header-timeout 5s -read-timeout 30s -write-timeout 30s -idle-timeout 120s)
base=${PORT_BASE:-18450} # two runs at once need different PORT_BASE (and PPROF_PORT)
port_app=$((base + 1)) port_bare=$((base + 2)) port_chihuma=$((base + 3)) port_startup=$((base + 4))
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)

need() {
	command -v "$1" >/dev/null && return
	echo "installing $1"
	if [ "$(id -u)" = 0 ]; then apt-get install -y -qq "$1" >/dev/null; else sudo apt-get install -y -qq "$1" >/dev/null; fi
}
note() { echo "   [$(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)]"; }

# ---- spin (no app: the anchor b alone) ----------------------------------------------------------
# What one more microsecond of work per request costs the server here, in CPU per request: b with
# -spin 0, 2, 4 and 8 us of busy work per ping. When the server is the bottleneck, a slower one
# finds wrk idle more often and pays for waking it (on a VM, an interrupt to the other core) in
# each response's write: the added cost can exceed the added work, by how much depends on the
# machine. The gp/b ratio of rps then moves with the machine as much as with the app.
if [ "$what" = spin ]; then
	need wrk
	(cd bench/httpbench && go build -o "$work/chihuma" ./chihuma)
	port=$((base + 3))
	echo "== spin: b with busy work added per ping, alone on core 0 (GOMAXPROCS=1), wrk -t1 -c50 -d$DURATION on core 1, $ROUNDS rounds"
	printf "   %-6s %s\n" round "server CPU per request (us) at spin 0 2us 4us 8us -> added over spin 0"
	note
	for round in $(seq "$ROUNDS"); do
		spins=(0 2us 4us 8us)
		[ $((round % 2)) = 0 ] && spins=(8us 4us 2us 0)
		declare -A cost=()
		for sp in "${spins[@]}"; do
			GOMAXPROCS=1 taskset -c 0 "$work/chihuma" -addr "127.0.0.1:$port" -spin "$sp" 2>/dev/null &
			p=$!
			for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/api/v1/ping" && break; sleep 0.05; done
			taskset -c 1 wrk -t1 -c50 -d2s "http://127.0.0.1:$port/api/v1/ping" >/dev/null
			t0=$(awk '{print $14 + $15}' "/proc/$p/stat")
			out=$(taskset -c 1 wrk -t1 -c50 -d"$DURATION" "http://127.0.0.1:$port/api/v1/ping")
			t1=$(awk '{print $14 + $15}' "/proc/$p/stat")
			cost[$sp]=$(awk -v t="$((t1 - t0))" -v hz="$tck" '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' <<<"$out")
			kill "$p"
			wait "$p" 2>/dev/null || true
		done
		printf "   %-6s %s %s %s %s -> %s\n" "$round" "${cost[0]}" "${cost[2us]}" "${cost[4us]}" "${cost[8us]}" \
			"$(awk -v a="${cost[0]}" -v b="${cost[2us]}" -v c="${cost[4us]}" -v d="${cost[8us]}" 'BEGIN {printf "+%.1f +%.1f +%.1f us", b - a, c - a, d - a}')"
	done
	note
	exit 0
fi

# ---- build ------------------------------------------------------------------------------------
echo "== build (go $(go env GOVERSION), $(nproc) cores)"
go build -o "$work/aegis" ./cmd/aegis
all=$("$work/aegis" components --json | awk -F'"' '/"name"/ {n=$4} /"status": "available"/ && n != "backend" && n != "frontend" && ("," ENVIRON["EXCLUDE"] ",") !~ ("," n ",") {printf "%s%s", sep, n; sep=","}')
svcs=$("$work/aegis" services --json | awk -F'"' '/"name"/ {n=$4} /"status": "available"/ && ("," ENVIRON["EXCLUDE"] ",") !~ ("," n ",") {printf "%s%s", sep, n; sep=","}')
echo "   aegis init everything --components $all --services $svcs"
"$work/aegis" init everything --no-interactive -o "$work" --module example.com/everything --components "$all" --services "$svcs" >/dev/null
gen=$work/everything
# The one user file (bench/ping.go.txt; .txt so that no Go build in this repository picks it up).
cp bench/ping.go.txt "$gen/internal/services/ping.go"
(cd "$gen" && CGO_ENABLED=0 go build -trimpath -o "$work/app" ./cmd/everything)
if [ "$what" = obs ] || [ "$what" = obs-startup ]; then
	# The same tree without the component: only its blank imports (and its glues', which hold
	# tests alone) leave the wiring file; nothing else imports it.
	wire=$gen/internal/components/wire_gen.go
	cp "$wire" "$work/wire_gen.go.orig"
	grep -v '/internal/components/observability' "$work/wire_gen.go.orig" >"$wire"
	(cd "$gen" && CGO_ENABLED=0 go build -trimpath -o "$work/app-noobs" ./cmd/everything)
	cp "$work/wire_gen.go.orig" "$wire"
	(cd bench/httpbench && go build -o "$work/otlpsink" ./otlpsink)
fi
(cd bench/httpbench && for t in bare chihuma startup datagen; do go build -o "$work/$t" "./$t"; done)
secret=$(sed -n 's/^AUTH_SECRET=//p' "$gen/.env")

# start_app DIR PORT CPUS GOMAXPROCS ENV LEVEL [extra VAR=value...]: the app (APP_BIN, default
# the generated one) in DIR (its .env and data/ live there) on PORT; prints its PID. CPUS "" means not pinned, GOMAXPROCS "" the default.
# stdout goes to DIR/log unless APP_STDOUT names another file; stderr (the JSON log, access
# lines included) to DIR/log.err unless APP_STDERR names another.
start_app() {
	local dir=$1 port=$2 cpus=$3 procs=$4 env=$5 level=$6
	shift 6
	mkdir -p "$dir"
	[ -f "$dir/.env" ] || cp "$gen/.env" "$dir/.env"
	local pin=() gmp=()
	[ -n "$cpus" ] && pin=(taskset -c "$cpus")
	[ -n "$procs" ] && gmp=("GOMAXPROCS=$procs")
	(cd "$dir" && exec env APP_ENV="$env" LOG_LEVEL="$level" HOST=127.0.0.1 PORT="$port" AUTH_SECRET="$secret" \
		"${gmp[@]}" "$@" "${pin[@]}" "${APP_BIN:-$work/app}" serve >"${APP_STDOUT:-$dir/log}" 2>"${APP_STDERR:-$dir/log.err}") &
	echo $!
}
wait_ready() { # PORT: until /health/ready answers 200 (30 s at most)
	for _ in $(seq 600); do
		curl -fs -o /dev/null -H "Host: 127.0.0.1:$1" "http://127.0.0.1:$1/health/ready" && return 0
		sleep 0.05
	done
	echo "not ready on port $1" >&2
	return 1
}
wait_up() { # PORT PATH
	for _ in $(seq 200); do curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0; sleep 0.05; done
	echo "nothing on port $1$2" >&2
	return 1
}
stop() { # PID: SIGTERM, then wait (up to 20 s) until it is gone so its port is free
	kill "$1" 2>/dev/null || true
	for _ in $(seq 400); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
	kill -9 "$1" 2>/dev/null || true
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; }
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# anon PID: RssAnon, the process's private memory (heap, stacks, the runtime's) in MiB. VmRSS
# also counts the binary's pages (RssFile), and those depend on the page cache: the kernel maps
# the cached neighbours of each page faulted in, and a machine that reclaims cold page cache
# (this VM pages out what was not touched for a minute) makes them vary from run to run.
anon() { awk '/^RssAnon/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# pg_ticks: CPU ticks of the local PostgreSQL server: its live processes plus the children the
# postmaster has reaped (cutime+cstime: parallel workers, closed backends). The whole server,
# so other users of it count too.
pg_ticks() {
	local pm
	pm=$(pgrep -o -x postgres) || { echo 0; return; }
	{ awk '{print $16 + $17}' "/proc/$pm/stat"; for p in $(pgrep -x postgres); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done; } | awk '{s += $1} END {print s + 0}'
}
# cpu_over PID SECS: % of one core used by PID over SECS, and context switches per second; with
# pg_watch=1, also the PostgreSQL server's CPU over the same window.
pg_watch=0
cpu_over() {
	local t0 c0 s0 t1 c1 s1 p0=0 p1=0
	[ "$pg_watch" = 1 ] && p0=$(pg_ticks)
	t0=$(ticks "$1") c0=$(ctxsw "$1") s0=$(date +%s.%N)
	sleep "$2"
	t1=$(ticks "$1") c1=$(ctxsw "$1") s1=$(date +%s.%N)
	[ "$pg_watch" = 1 ] && p1=$(pg_ticks)
	awk -v t="$((t1 - t0))" -v c="$((c1 - c0))" -v a="$s0" -v b="$s1" -v hz="$tck" \
		'BEGIN {printf "%.2f%% of one core (%d ticks of 1/%d s), %.1f context switches/s", 100 * t / hz / (b - a), t, hz, c / (b - a)}'
	if [ "$pg_watch" = 1 ]; then
		awk -v t="$((p1 - p0))" -v a="$s0" -v b="$s1" -v hz="$tck" 'BEGIN {printf "; PostgreSQL server %.2f%% of one core", 100 * t / hz / (b - a)}'
	fi
}
# run_wrk KEY URL: wrk on core 1 against URL for DURATION; sets r[KEY] to its requests/s and
# us[KEY] to the server's CPU per request (utime+stime of pid_of[KEY] over the run, divided by
# the requests wrk completed).
run_wrk() {
	local k=$1 url=$2 t0 t1 out
	t0=$(ticks "${pid_of[$k]}")
	out=$(taskset -c 1 wrk -t1 -c50 -d"$DURATION" "$url")
	t1=$(ticks "${pid_of[$k]}")
	r[$k]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	us[$k]=$(awk -v t="$((t1 - t0))" -v hz="$tck" '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' <<<"$out")
}
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# ---- rps ----------------------------------------------------------------------------------------
if [ "$what" = app ] || [ "$what" = all ] || [ "$what" = rps ]; then
	need wrk
	# The app's output to /dev/null: the log (stderr: JSON, one access line per API request) is
	# formatted and written as in production, but where the bytes go is the host's cost, not the
	# app's (a file on this VM's disk slowed the app by half once the page cache filled, 150 MB
	# of log lines per round).
	app_pid=$(APP_STDOUT=/dev/null APP_STDERR=/dev/null start_app "$work/run-rps" $port_app 0 1 "$APP_MODE" "$APP_LOG")
	pids+=("$app_pid")
	GOMAXPROCS=1 taskset -c 0 "$work/bare" -addr "127.0.0.1:$port_bare" -body '{"status":"ok"}' "${anchor_timeouts[@]}" 2>/dev/null &
	bare_pid=$!
	pids+=($!)
	GOMAXPROCS=1 taskset -c 0 "$work/chihuma" -addr "127.0.0.1:$port_chihuma" "${anchor_timeouts[@]}" 2>/dev/null &
	chihuma_pid=$!
	pids+=($!)
	declare -A pid_of=([g]=$app_pid [gp]=$app_pid [a]=$bare_pid [b]=$chihuma_pid)
	wait_ready $port_app
	wait_up $port_bare /health/live
	wait_up $port_chihuma /api/v1/ping
	echo "== requests/s: each server on core 0 (GOMAXPROCS=1), wrk -t1 -c50 -d$DURATION on core 1; app APP_ENV=$APP_MODE LOG_LEVEL=$APP_LOG"
	echo "   anchors' server timeouts: ${anchor_timeouts[*]:-none (PARITY=0)}"
	echo "   g  app /health/live:  $(curl -s "http://127.0.0.1:$port_app/health/live")"
	echo "   a  bare /health/live: $(curl -s "http://127.0.0.1:$port_bare/health/live")"
	echo "   gp app /api/v1/ping:  $(curl -s "http://127.0.0.1:$port_app/api/v1/ping")"
	echo "   b  chihuma ping:      $(curl -s "http://127.0.0.1:$port_chihuma/api/v1/ping")"
	note
	urls=("g http://127.0.0.1:$port_app/health/live" "a http://127.0.0.1:$port_bare/health/live"
		"gp http://127.0.0.1:$port_app/api/v1/ping" "b http://127.0.0.1:$port_chihuma/api/v1/ping")
	for u in "${urls[@]}"; do taskset -c 1 wrk -t1 -c50 -d2s "${u#* }" >/dev/null; done # warm-up
	: >"$work/ratios"
	: >"$work/cpuratios"
	# Two readings per run: requests/s (wrk) and the server's CPU per request (utime+stime of
	# its process over the run, divided by the requests wrk completed). On a quiet machine they
	# agree (the server saturates core 0); when other work shares the cores, requests/s drops
	# with the core's share while CPU per request moves much less, so the CPU ratios are the
	# steadier reading of "costs at most 10% more server CPU".
	printf "   %-6s %10s %10s %10s %10s %7s %7s %7s   %s\n" round g a gp b g/a gp/b gp/a "server CPU per request (us): g a gp b -> a/g b/gp"
	for round in $(seq "$ROUNDS"); do
		order=(0 1 2 3)
		[ $((round % 2)) = 0 ] && order=(3 2 1 0)
		declare -A r=() us=()
		for i in "${order[@]}"; do
			u=${urls[$i]}
			run_wrk "${u%% *}" "${u#* }"
		done
		line=$(awk -v g="${r[g]}" -v a="${r[a]}" -v gp="${r[gp]}" -v b="${r[b]}" 'BEGIN {printf "%.3f %.3f %.3f", g / a, gp / b, gp / a}')
		echo "$line" >>"$work/ratios"
		cline=$(awk -v g="${us[g]}" -v a="${us[a]}" -v gp="${us[gp]}" -v b="${us[b]}" 'BEGIN {printf "%.3f %.3f", a / g, b / gp}')
		echo "$cline" >>"$work/cpuratios"
		read -r ga gpb gpa <<<"$line"
		read -r cga cgpb <<<"$cline"
		printf "   %-6s %10.0f %10.0f %10.0f %10.0f %7s %7s %7s   %s %s %s %s -> %s %s\n" "$round" "${r[g]}" "${r[a]}" "${r[gp]}" "${r[b]}" "$ga" "$gpb" "$gpa" \
			"${us[g]}" "${us[a]}" "${us[gp]}" "${us[b]}" "$cga" "$cgpb"
	done
	echo "   median: g/a $(cut -d' ' -f1 "$work/ratios" | median), gp/b $(cut -d' ' -f2 "$work/ratios" | median), gp/a $(cut -d' ' -f3 "$work/ratios" | median) (goals: g/a >= 0.9, gp/b >= 0.9)"
	echo "   median by CPU per request: a/g $(cut -d' ' -f1 "$work/cpuratios" | median), b/gp $(cut -d' ' -f2 "$work/cpuratios" | median)"
	note
	for p in "${pids[@]}"; do stop "$p"; done
	pids=()
fi

# ---- startup ----------------------------------------------------------------------------------
if [ "$what" = app ] || [ "$what" = all ] || [ "$what" = startup ]; then
	dir=$work/run-startup
	pid=$(start_app "$dir" $port_startup "" "" "$APP_MODE" warn) # migrates the database once
	wait_ready $port_startup
	stop "$pid"
	echo "== start-up: exec to first 200 on /health/ready, $STARTS starts, APP_ENV=$APP_MODE, database migrated already (goal < 50 ms)"
	# How the binary came into the page cache sets how fast it starts (see obs below): read
	# from the disk (its pages dropped, then read whole: a deployed binary's usual state) and
	# just written (a fresh copy: the state right after go build), each read whole before
	# every start so that no start waits for the disk.
	for state in "read from the disk" "just written"; do
		bin=$work/app
		if [ "$state" = "just written" ]; then
			cp "$work/app" "$work/app-fresh" && bin=$work/app-fresh
		else
			sync "$bin" # written back first: dirty pages stay in the cache
			dd if="$bin" iflag=nocache count=0 status=none
		fi
		note
		printf "   %-20s " "$state:"
		(cd "$dir" && APP_ENV=$APP_MODE AUTH_SECRET=$secret "$work/startup" -bin "$bin" -runs "$STARTS" -port $port_startup -warm)
	done
	rm -f "$work/app-fresh"
	note
fi

# ---- idle -------------------------------------------------------------------------------------
if [ "$what" = app ] || [ "$what" = all ] || [ "$what" = idle ]; then
	echo "== idle, not pinned, default GOMAXPROCS, APP_ENV=$APP_MODE (goals: RSS < 30 MiB, CPU < 0.5%)"
	note
	# VmRSS counts the binary's clean file pages, and how many a start maps depends on the page
	# cache (see obs below): started cold (its pages dropped first: a container's first start)
	# and warm (read whole first: a binary just built or copied). Then the warm one idles.
	pid=$(start_app "$work/run-idle" $port_app "" "" "$APP_MODE" warn) # migrates the database once
	wait_ready $port_app
	stop "$pid"
	# The app releases its start-up pages at once and again 5 s later (APP_RELEASE_START_PAGES,
	# package startpages), so RSS is read 1 s after ready and again when settled, 10 s after;
	# "kept" is the warm start with APP_RELEASE_START_PAGES=false. Major faults: pages read back
	# from the disk.
	for mode in cold kept warm; do
		if [ "$mode" = cold ]; then dd if="$work/app" iflag=nocache count=0 status=none; else cat "$work/app" >/dev/null; fi
		keep=()
		[ "$mode" = kept ] && keep=(APP_RELEASE_START_PAGES=false)
		pid=$(start_app "$work/run-idle" $port_app "" "" "$APP_MODE" "$APP_LOG" "${keep[@]}")
		pids+=("$pid")
		wait_ready $port_app
		sleep 1
		at1="$(rss "$pid") MiB (RssAnon $(anon "$pid"))"
		sleep 9
		echo "   RSS after ready, started $mode: 1 s $at1, 10 s $(rss "$pid") MiB (RssAnon $(anon "$pid")); major faults $(awk '{print $12}' "/proc/$pid/stat"); threads $(awk '/^Threads/ {print $2}' "/proc/$pid/status")"
		[ "$mode" = warm ] || stop "$pid"
	done
	echo "   over ${IDLE_SECS} s: $(cpu_over "$pid" "$IDLE_SECS")"
	echo "   RSS after: $(rss "$pid") MiB (RssAnon $(anon "$pid") MiB)"
	note
	stop "$pid"
	pids=()
fi

# ---- obs --------------------------------------------------------------------------------------
# obs_prepare: the sink (on core 1) that the traced app exports to, otel (what the traced app is
# started with: the sink as its collector, the sampler per run; OTEL_TRACES_SAMPLER_ARG is
# added per start), and one data folder for every start, migrated once so that none migrates.
obs_prepare() {
	port_sink=$((base + 8))
	taskset -c 1 "$work/otlpsink" -addr "127.0.0.1:$port_sink" 2>/dev/null &
	pids+=($!)
	otel=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port_sink" OTEL_TRACES_SAMPLER=parentbased_traceidratio)
	APP_BIN=$work/app-noobs start_app "$work/run-obs" $port_app "" "" "$APP_MODE" warn >"$work/pid"
	wait_ready $port_app
	stop "$(cat "$work/pid")"
}
if [ "$what" = obs ]; then
	need wrk
	port_n=$((base + 5)) port_o10=$((base + 6)) port_o100=$((base + 7))
	obs_prepare
	n_pid=$(APP_BIN=$work/app-noobs APP_STDOUT=/dev/null APP_STDERR=/dev/null start_app "$work/run-obs" $port_n 0 1 "$APP_MODE" "$APP_LOG")
	pids+=("$n_pid")
	o10_pid=$(APP_STDOUT=/dev/null APP_STDERR=/dev/null start_app "$work/run-obs" $port_o10 0 1 "$APP_MODE" "$APP_LOG" "${otel[@]}" OTEL_TRACES_SAMPLER_ARG=0.1)
	pids+=("$o10_pid")
	o100_pid=$(APP_STDOUT=/dev/null APP_STDERR=/dev/null start_app "$work/run-obs" $port_o100 0 1 "$APP_MODE" "$APP_LOG" "${otel[@]}" OTEL_TRACES_SAMPLER_ARG=1.0)
	pids+=("$o100_pid")
	declare -A pid_of=([n]=$n_pid [o10]=$o10_pid [o100]=$o100_pid)
	wait_ready $port_n
	wait_ready $port_o10
	wait_ready $port_o100
	wait_up $port_sink /stats
	echo "== observability: requests/s on /api/v1/ping, each server on core 0 (GOMAXPROCS=1), wrk -t1 -c50 -d$DURATION on core 1; APP_ENV=$APP_MODE LOG_LEVEL=$APP_LOG"
	echo "   n    without observability: $(curl -s "http://127.0.0.1:$port_n/api/v1/ping")"
	echo "   o10  with it, 10% sampled:  $(curl -s "http://127.0.0.1:$port_o10/api/v1/ping"), /metrics $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port_o10/metrics")"
	echo "   o100 with it, 100% sampled: $(curl -s "http://127.0.0.1:$port_o100/api/v1/ping")"
	note
	urls=("n http://127.0.0.1:$port_n/api/v1/ping" "o10 http://127.0.0.1:$port_o10/api/v1/ping" "o100 http://127.0.0.1:$port_o100/api/v1/ping")
	for u in "${urls[@]}"; do taskset -c 1 wrk -t1 -c50 -d2s "${u#* }" >/dev/null; done # warm-up
	: >"$work/ratios"
	printf "   %-6s %10s %10s %10s %8s %8s   %s\n" round n o10 o100 o10/n o100/n "server CPU per request (us): n o10 o100 -> n/o10 n/o100"
	for round in $(seq "$ROUNDS"); do
		order=(0 1 2)
		[ $((round % 2)) = 0 ] && order=(2 1 0)
		declare -A r=() us=()
		for i in "${order[@]}"; do
			u=${urls[$i]}
			run_wrk "${u%% *}" "${u#* }"
		done
		line=$(awk -v n="${r[n]}" -v a="${r[o10]}" -v b="${r[o100]}" -v un="${us[n]}" -v ua="${us[o10]}" -v ub="${us[o100]}" \
			'BEGIN {printf "%.3f %.3f %.3f %.3f", a / n, b / n, un / ua, un / ub}')
		echo "$line" >>"$work/ratios"
		read -r ra rb ca cb <<<"$line"
		printf "   %-6s %10.0f %10.0f %10.0f %8s %8s   %s %s %s -> %s %s\n" "$round" "${r[n]}" "${r[o10]}" "${r[o100]}" "$ra" "$rb" \
			"${us[n]}" "${us[o10]}" "${us[o100]}" "$ca" "$cb"
	done
	echo "   median: o10/n $(cut -d' ' -f1 "$work/ratios" | median), o100/n $(cut -d' ' -f2 "$work/ratios" | median) (goals: >= 0.85 at 10%, >= 0.7 at 100%)"
	echo "   median by CPU per request: n/o10 $(cut -d' ' -f3 "$work/ratios" | median), n/o100 $(cut -d' ' -f4 "$work/ratios" | median)"
	echo "   the sink received: $(curl -s "http://127.0.0.1:$port_sink/stats")"
	note
	for k in n o10 o100; do stop "${pid_of[$k]}"; done

	echo "== observability: start-up, exec to first 200 on /health/ready, $STARTS pairs of starts in alternating order"
	echo "   (o at 10%, exporting to the sink; each binary read whole before its start, so neither waits for the disk)"
	# How the binary came into the page cache changes every start (on this VM by 25 ms): read
	# from the disk (the pages dropped, then read whole: a deployed binary's usual state), and
	# just written (fresh copies: the state right after go build). Both are shown.
	for state in "read from the disk" "just written"; do
		o=$work/app n=$work/app-noobs
		if [ "$state" = "just written" ]; then
			cp "$o" "$work/app-fresh" && cp "$n" "$work/app-noobs-fresh"
			o=$work/app-fresh n=$work/app-noobs-fresh
		else
			dd if="$o" iflag=nocache count=0 status=none
			dd if="$n" iflag=nocache count=0 status=none
		fi
		echo "   -- $state"
		note
		(cd "$work/run-obs" && env APP_ENV="$APP_MODE" AUTH_SECRET="$secret" "${otel[@]}" OTEL_TRACES_SAMPLER_ARG=0.1 \
			"$work/startup" -bin "$o" -against "$n" -runs "$STARTS" -port $port_startup -warm) | sed 's/^/   /'
	done
	rm -f "$work/app-fresh" "$work/app-noobs-fresh"
	echo "   (goal: under 5 ms added; bin is o, against is n)"
	echo "== observability: idle RSS 1 s after ready, $ROUNDS rounds in alternating order (not pinned), each binary started cold and warm"
	# The binary's clean file pages are most of VmRSS, and how many of them a start maps
	# depends on the page cache: a fault maps the whole cached folio around it, and a binary
	# read whole with cat sits in large folios (this kernel, ext4), so a warm start maps more
	# than it touches, by an amount that moves with the folio sizes from run to run (3.4 and
	# 8.8 MiB added in two runs of the same commit). Cold, with the binary's pages dropped from
	# the cache first (dd iflag=nocache count=0), each fault reads its own window from the
	# disk, the same way every time: as a container's first start does. Both are shown; the
	# private memory (RssAnon, from the cold start) is the same either way.
	note
	: >"$work/obs-rss"
	printf "   %-6s %8s %8s %8s   %8s %8s %8s   %8s %8s %8s\n" round "cold n" "cold o" "o-n MiB" "warm n" "warm o" "o-n MiB" "anon n" "anon o" "o-n MiB"
	for round in $(seq "$ROUNDS"); do
		order=(n o)
		[ $((round % 2)) = 0 ] && order=(o n)
		declare -A rs=() an=()
		for mode in cold warm; do
			for k in "${order[@]}"; do
				bin=$work/app env=()
				[ "$k" = n ] && bin=$work/app-noobs
				[ "$k" = o ] && env=("${otel[@]}" OTEL_TRACES_SAMPLER_ARG=0.1)
				if [ "$mode" = cold ]; then
					dd if="$bin" iflag=nocache count=0 status=none
				else
					cat "$bin" >/dev/null
				fi
				pid=$(APP_BIN=$bin start_app "$work/run-obs" $port_app "" "" "$APP_MODE" "$APP_LOG" "${env[@]}")
				pids+=("$pid")
				wait_ready $port_app
				sleep 1
				rs[$mode$k]=$(rss "$pid")
				[ "$mode" = cold ] && an[$k]=$(anon "$pid")
				stop "$pid"
			done
		done
		line=$(awk -v a="${rs[coldn]}" -v b="${rs[coldo]}" -v c="${rs[warmn]}" -v d="${rs[warmo]}" -v e="${an[n]}" -v f="${an[o]}" \
			'BEGIN {printf "%.1f %.1f %.1f", b - a, d - c, f - e}')
		echo "$line" >>"$work/obs-rss"
		read -r dcold dwarm dan <<<"$line"
		printf "   %-6s %8s %8s %8s   %8s %8s %8s   %8s %8s %8s\n" "$round" "${rs[coldn]}" "${rs[coldo]}" "$dcold" \
			"${rs[warmn]}" "${rs[warmo]}" "$dwarm" "${an[n]}" "${an[o]}" "$dan"
	done
	echo "   median added (goal < 8 MiB): idle RSS started cold $(cut -d' ' -f1 "$work/obs-rss" | median) MiB, warm $(cut -d' ' -f2 "$work/obs-rss" | median) MiB; private (RssAnon) $(cut -d' ' -f3 "$work/obs-rss" | median) MiB"
	note
	for p in "${pids[@]}"; do stop "$p"; done
	pids=()
fi

# ---- obs-startup --------------------------------------------------------------------------------
# What the start-up comparison can resolve on this machine. Each of ROUNDS rounds runs four
# comparisons of STARTS pairs (the obs mode's method: alternating pairs, each binary read whole
# before its start, o at 10% exporting to the sink), in an order that rotates by round:
#   o-n    the app with observability against the same app without it (what obs measures)
#   n-n    the app without it against itself: the same file, started twice per pair
#   n-n'   against a byte-identical copy of itself (another file, other page-cache pages)
#   o-o'   the same with observability
# Before every comparison the binaries' pages are dropped from the page cache, so each is read
# back from the disk as in obs ("read from the disk"). The three null comparisons must come out
# at 0: how far their medians move from round to round is the resolution, and an o-n that moves
# as far is not told apart from it.
if [ "$what" = obs-startup ]; then
	obs_prepare
	cp "$work/app" "$work/app-copy" && cp "$work/app-noobs" "$work/app-noobs-copy" && sync
	declare -A bin_of=([o]=$work/app [n]=$work/app-noobs ["o'"]=$work/app-copy ["n'"]=$work/app-noobs-copy)
	comparisons=("o n" "n n" "n n'" "o o'")
	echo "== observability: start-up resolution, $ROUNDS rounds of four comparisons ($STARTS pairs each; exec to first 200 on /health/ready)"
	note
	: >"$work/obs-null"
	printf "   %-6s %-6s %9s %9s %9s   %s\n" round pair "bin ms" "vs ms" "added" "95% CI"
	for round in $(seq "$ROUNDS"); do
		for j in 0 1 2 3; do
			read -r x y <<<"${comparisons[$(((j + round - 1) % 4))]}"
			for f in "${bin_of[@]}"; do dd if="$f" iflag=nocache count=0 status=none; done
			line=$(cd "$work/run-obs" && env APP_ENV="$APP_MODE" AUTH_SECRET="$secret" "${otel[@]}" OTEL_TRACES_SAMPLER_ARG=0.1 \
				"$work/startup" -bin "${bin_of[$x]}" -against "${bin_of[$y]}" -runs "$STARTS" -port $port_startup -warm | grep '^wall ms')
			# wall ms bin B against A added (median of N pairs) +D 95% CI [+L, +H]
			read -r b a d lo hi <<<"$(awk '{gsub(/[\[\],]/, ""); print $4, $6, $12, $15, $16}' <<<"$line")"
			echo "$x-$y $d $lo $hi" >>"$work/obs-null"
			printf "   %-6s %-6s %9s %9s %9s   [%s, %s]\n" "$round" "$x-$y" "$b" "$a" "$d" "$lo" "$hi"
		done
	done
	note
	echo "   per comparison, over the rounds: the median of the medians, their range, and in how many rounds the 95% CI left out 0"
	for c in "o-n" "n-n" "n-n'" "o-o'"; do
		ds=$(awk -v c="$c" '$1 == c {print $2}' "$work/obs-null")
		printf "   %-6s median %+.2f ms  range [%+.2f, %+.2f]  CI without 0 in %s of %s\n" "$c" "$(median <<<"$ds")" \
			"$(sort -g <<<"$ds" | head -1)" "$(sort -g <<<"$ds" | tail -1)" \
			"$(awk -v c="$c" '$1 == c && ($3 > 0 || $4 < 0)' "$work/obs-null" | wc -l)" "$ROUNDS"
	done
	rm -f "$work/app-copy" "$work/app-noobs-copy"
	for p in "${pids[@]}"; do stop "$p"; done
	pids=()
fi

# ---- data -------------------------------------------------------------------------------------
# lat LABEL PORT PATH: REQS sequential GETs (at most BUDGET s), p50/p90/max of curl's total time.
lat() {
	local label=$1 port=$2 path=$3 start n=0 code
	: >"$work/lat"
	start=$(date +%s)
	while [ $n -lt "$REQS" ] && { [ $n -lt 5 ] || [ $(($(date +%s) - start)) -lt "$BUDGET" ]; }; do
		code=$(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port$path")
		[ "${code%% *}" = 200 ] || echo "   warning: $path answered ${code%% *}" >&2
		echo "${code#* }" >>"$work/lat"
		n=$((n + 1))
	done
	sort -g "$work/lat" | awk -v l="$label" -v p="$path" '{v[NR] = $1 * 1000}
		END {i50 = int(NR * 0.5 + 0.5); i90 = int(NR * 0.9 + 0.5); if (i50 < 1) i50 = 1; if (i90 < 1) i90 = 1
		printf "   %-18s p50 %8.1f ms  p90 %8.1f ms  max %8.1f ms  (n=%d)  %s\n", l, v[i50], v[i90], v[NR], NR, p}'
}
# viewer PID PORT PATH EVERY: GET PATH every EVERY s for IDLE_SECS while measuring PID's CPU.
viewer() {
	local pid=$1 port=$2 path=$3 every=$4
	(for _ in $(seq $((IDLE_SECS / every))); do
		curl -s -o /dev/null -H "Host: 127.0.0.1:$port" -H "HX-Request: true" "http://127.0.0.1:$port$path"
		sleep "$every"
	done) &
	local v=$!
	echo "   viewer of $path every ${every}s: $(cpu_over "$pid" "$IDLE_SECS")"
	kill $v 2>/dev/null || true
	wait $v 2>/dev/null || true
}
data_run() { # ENGINE DATABASE_URL
	local engine=$1 url=$2 dir=$work/run-data-$1 pid
	echo "== data, $engine: $JOBS river_job rows (97% completed, 3% discarded), $USERS users; APP_ENV=development, not pinned"
	pid=$(start_app "$dir" $port_app "" "" development warn DATABASE_URL="$url")
	wait_ready $port_app
	stop "$pid"
	note
	local s e
	s=$(date +%s.%N)
	(cd "$dir" && "$work/datagen" -db "$url" -jobs "$JOBS" -users "$USERS" 2>&1 | tr '\r' '\n' | grep -v '^$' | awk '/rows/ {last[$1] = $0} END {for (k in last) print "   " last[k]}')
	e=$(date +%s.%N)
	echo "   datagen: $(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.1f", b - a}') s in all"
	[ "$engine" = sqlite ] && echo "   database file: $(du -sh "$dir/data" | cut -f1)"
	pid=$(start_app "$dir" $port_app "" "" development warn DATABASE_URL="$url")
	pids+=("$pid")
	wait_ready $port_app
	sleep 1
	note
	echo "   RSS 1 s after ready: $(rss "$pid") MiB"
	lat "live" $port_app /health/live
	lat "ready" $port_app /health/ready
	lat "detailed" $port_app /health/detailed
	lat "overview page" $port_app /
	lat "overview fragment" $port_app /dashboard/fragments/overview
	lat "jobs panel" $port_app /dashboard/panels/jobs
	lat "jobs fragment" $port_app /dashboard/fragments/panels/jobs
	lat "users panel" $port_app /dashboard/panels/users
	lat "users search" $port_app "/dashboard/fragments/panels/users?q=user19999"
	lat "scheduler panel" $port_app /dashboard/panels/scheduler
	lat "graph page" $port_app /dashboard/graph
	lat "graph fragment" $port_app /dashboard/fragments/graph
	lat "routes page" $port_app /dashboard/routes
	note
	echo "   no viewer: $(cpu_over "$pid" "$IDLE_SECS")"
	viewer "$pid" $port_app /dashboard/fragments/overview 2
	viewer "$pid" $port_app /dashboard/fragments/panels/jobs 5
	echo "   RSS after: $(rss "$pid") MiB (RssAnon $(anon "$pid") MiB)"
	note
	stop "$pid"
	pids=()
}
if [ "$what" = all ] || [ "$what" = data ]; then
	data_run sqlite "sqlite://data/app.db"
	if [ -n "$PG_URL" ]; then
		psql -q "$PG_URL" -c 'DROP DATABASE IF EXISTS aegis_bench_lean' -c 'CREATE DATABASE aegis_bench_lean'
		pg_db=$(echo "$PG_URL" | sed -E 's#^(postgres(ql)?://[^/]*)/[^?]*#\1/aegis_bench_lean#')
		pg_watch=1
		data_run postgres "$pg_db"
		pg_watch=0
	fi
fi

# ---- profile ----------------------------------------------------------------------------------
if [ "$what" = all ] || [ "$what" = profile ]; then
	need wrk
	mkdir -p "$OUT"
	cat >"$gen/internal/services/zz_pprof.go" <<EOF
package services

import (
	"net/http"
	_ "net/http/pprof"
	"runtime"
)

// Benchmark harness only (bench/compare.sh profile): pprof on a side port.
func init() {
	runtime.MemProfileRate = 64 << 10
	go func() { _ = http.ListenAndServe("127.0.0.1:$PPROF_PORT", nil) }()
}
EOF
	(cd "$gen" && CGO_ENABLED=0 go build -trimpath -o "$work/app-pprof" ./cmd/everything)
	rm "$gen/internal/services/zz_pprof.go"
	rm -f "$OUT/app" "$OUT/app-pprof" # unlink first: an old copy may still be running
	cp "$work/app" "$OUT/app"
	cp "$work/app-pprof" "$OUT/app-pprof"
	pp=http://127.0.0.1:$PPROF_PORT/debug/pprof
	echo "== profile: start-up (GODEBUG=inittrace=1, LOG_LEVEL=debug), APP_ENV=$APP_MODE"
	note
	dir=$work/run-profile
	pid=$(start_app "$dir" $port_app "" "" "$APP_MODE" debug) # migrate once
	wait_ready $port_app
	stop "$pid"
	s=$(date +%s%N)
	pid=$(start_app "$dir" $port_app "" "" "$APP_MODE" debug GODEBUG=inittrace=1)
	wait_ready $port_app
	e=$(date +%s%N)
	echo "   first 200 on /health/ready after $(((e - s) / 1000000)) ms (curl every 50 ms)"
	stop "$pid"
	cat "$dir/log.err" "$dir/log" >"$OUT/startup.log"
	awk '/^init / {ms += $5; n++} END {printf "   package init: %d packages, %.1f ms of init time in all\n", n, ms}' "$OUT/startup.log"
	grep '^init ' "$OUT/startup.log" | sort -k5 -g -r | head -8 | sed 's/^/   /'
	echo "   service start timeline (debug log), first and last lines:"
	grep -E 'starting service|listening|ticking' "$OUT/startup.log" | sed -n '1p;$p' | sed 's/^/   /'
	echo "   the slowest services to start (constructor and Start hook, from 'registry: started service'):"
	grep 'registry: started service' "$OUT/startup.log" |
		sed -n 's/.*"service":"\([^"]*\)".*"duration":\([0-9]*\).*/\2 \1/p' | sort -rn | head -6 |
		awk '{printf "   %8.2f ms  %s\n", $1 / 1e6, $2}'
	echo "== profile: GET /api/v1/ping under wrk (pinned as in rps), CPU 10 s -> $OUT/ping.cpu.pprof"
	(cd "$work/run-profile" && exec env APP_ENV="$APP_MODE" LOG_LEVEL="$APP_LOG" HOST=127.0.0.1 PORT=$port_app AUTH_SECRET="$secret" \
		GOMAXPROCS=1 taskset -c 0 "$work/app-pprof" serve >/dev/null 2>"$work/run-profile/log.err") &
	pid=$!
	pids+=("$pid")
	wait_ready $port_app
	wait_up $PPROF_PORT /debug/pprof/
	note
	taskset -c 1 wrk -t1 -c50 -d2s "http://127.0.0.1:$port_app/api/v1/ping" >/dev/null
	curl -s -o "$OUT/ping.allocs.before" "$pp/allocs"
	taskset -c 1 wrk -t1 -c50 -d12s "http://127.0.0.1:$port_app/api/v1/ping" >"$work/wrk.out" &
	w=$!
	sleep 1
	curl -s -o "$OUT/ping.cpu.pprof" "$pp/profile?seconds=10"
	wait $w || true
	awk '/Requests\/sec/ {print "   wrk: " $2 " req/s (with the profiler on)"}' "$work/wrk.out"
	curl -s -o "$OUT/ping.allocs.pprof" "$pp/allocs"
	go tool pprof -top -nodecount=25 "$OUT/app-pprof" "$OUT/ping.cpu.pprof" 2>/dev/null | sed 's/^/   /' | head -32
	echo "   allocations during the run (alloc_space, minus the profile before):"
	go tool pprof -top -nodecount=15 -sample_index=alloc_space -diff_base "$OUT/ping.allocs.before" "$OUT/app-pprof" "$OUT/ping.allocs.pprof" 2>/dev/null | sed 's/^/   /' | head -22
	stop "$pid"
	pids=()
	echo "== profile: idle (not pinned), CPU over ${IDLE_SECS} s -> $OUT/idle.cpu.pprof, heap -> $OUT/idle.heap.pprof"
	(cd "$work/run-profile" && exec env APP_ENV="$APP_MODE" LOG_LEVEL="$APP_LOG" HOST=127.0.0.1 PORT=$port_app AUTH_SECRET="$secret" \
		"$work/app-pprof" serve >"$work/run-profile/log" 2>&1) &
	pid=$!
	pids+=("$pid")
	wait_ready $port_app
	wait_up $PPROF_PORT /debug/pprof/
	sleep 1
	note
	curl -s -o "$OUT/idle.heap.pprof" "$pp/heap"
	curl -s -o "$OUT/idle.goroutine.txt" "$pp/goroutine?debug=1"
	curl -s -o "$OUT/idle.cpu.pprof" "$pp/profile?seconds=$IDLE_SECS"
	go tool pprof -top -nodecount=20 "$OUT/app-pprof" "$OUT/idle.cpu.pprof" 2>/dev/null | sed 's/^/   /' | head -28
	echo "   heap in use 1 s after ready:"
	go tool pprof -top -nodecount=15 -sample_index=inuse_space "$OUT/app-pprof" "$OUT/idle.heap.pprof" 2>/dev/null | sed 's/^/   /' | head -22
	echo "   goroutines: $(head -1 "$OUT/idle.goroutine.txt")"
	stop "$pid"
	pids=()
fi
