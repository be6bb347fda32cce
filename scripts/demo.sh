#!/usr/bin/env bash
# Build the aegis CLI, generate a demo app into build/demo and start it. By default the app has
# the database, cache, worker and scheduler components and the auth service (not every part:
# 'bin/aegis components' and 'bin/aegis services' list them all), on the embedded defaults
# (SQLite, in-memory cache: nothing to install). Stop it with Ctrl-C. Arguments replace the
# default selection, for example: --components cache
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building bin/aegis"
go build -o bin/aegis ./cmd/aegis
echo "==> generating build/demo"
if [ $# -eq 0 ]; then
	set -- --components database,cache,worker,scheduler --services auth
fi
rm -rf build/demo # a demo starts fresh: no file left from an earlier selection
bin/aegis init demo --no-interactive --output-dir build "$@"
cd build/demo
echo "==> starting the demo app (Ctrl-C to stop)"
exec go run ./cmd/demo serve
