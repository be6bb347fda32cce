#!/usr/bin/env bash
# Build the aegis CLI, generate a demo app on the embedded defaults into build/demo and start it.
# Stop it with Ctrl-C. Extra arguments go to `aegis init` (for example --services auth).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building bin/aegis"
go build -o bin/aegis ./cmd/aegis
echo "==> generating build/demo"
bin/aegis init demo --no-interactive --output-dir build --force "$@"
cd build/demo
echo "==> starting the demo app (Ctrl-C to stop)"
exec go run ./cmd/demo serve
