#!/usr/bin/env bash
# Module data before and after it became a module and package graph (issue 12): its size and the
# time of `go generate ./internal/generate`, for the shipped catalog at an old revision and now,
# then the in-process regeneration time and size for the shipped catalog and a synthetic catalog
# of 25 more owners, measured in the same run so the ratios hold under the same load.
#   bash bench/moddata.sh [old-revision]     # default: 346bcea, the last per-selection data
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-346bcea}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$old" | tar -x -C "$work"

# regen DIR: wall seconds of 5 runs of go generate in DIR/internal/generate (after one warm-up
# that builds the tool), sorted.
regen() {
	(cd "$1/internal/generate" && go generate . >/dev/null)
	for _ in 1 2 3 4 5; do
		s=$(date +%s.%N)
		(cd "$1/internal/generate" && go generate . >/dev/null)
		e=$(date +%s.%N)
		echo "$e - $s" | bc
	done | sort -n | tr '\n' ' '
}
echo "== old ($old): modules.json bytes, go generate seconds (5 runs, sorted)"
wc -c <"$work/internal/generate/modules.json"
regen "$work"
echo
echo "== new (work tree): modules.json bytes, go generate seconds (5 runs, sorted)"
wc -c <internal/generate/modules.json
regen .
echo
git diff --quiet internal/generate/modules.json || echo "warning: go generate changed modules.json"
echo "== in process: ComputeModules, shipped catalog vs 25-owner synthetic catalog"
go test -run '^$' -bench BenchmarkComputeModules -benchtime 5x -count 3 ./internal/generate | grep -E '^Benchmark'
echo "== in process: ModFiles of the largest selection (what init does instead of go mod tidy)"
go test -run '^$' -bench BenchmarkModFiles -benchmem -count 3 ./internal/generate | grep -E '^Benchmark'
