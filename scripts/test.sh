#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run) and what the README's Quick start calls.
# It needs Go 1.26 and fetches modules through the Go module proxy on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

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

step "go test (generator, reference app, stack matrix)"
go test -count=1 -timeout 40m ./...

step "go test -race (service layer and HTTP runtime)"
go test -count=1 -race ./template/internal/runtime/... ./template/internal/components/backend/...

for mod in bench/*/; do
	if [ -f "$mod/go.mod" ]; then
		step "go vet + test in $mod (benchmarks compile and their checks pass)"
		(cd "$mod" && go vet ./... && go test -count=1 -run . -bench . -benchtime 1x ./...)
	fi
done

step "all tests passed"
