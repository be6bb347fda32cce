#!/usr/bin/env bash
# Build the aegis CLI, generate a demo app with every available component and service on the
# embedded defaults (SQLite, in-memory cache: nothing to install) into build/demo and start it.
# Stop it with Ctrl-C. Arguments replace the default selection, for example: --components cache
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
