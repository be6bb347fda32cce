.DEFAULT_GOAL := help
.PHONY: help demo test test-short build bench fmt generate

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: ## Build aegis, generate build/demo and start it on http://127.0.0.1:8000
	bash scripts/demo.sh

test: ## The whole test suite, as CI runs it
	bash scripts/test.sh

test-short: ## Unit tests only: skips the stack matrix
	go test -short ./...

build: ## Build bin/aegis
	go build -o bin/aegis ./cmd/aegis

bench: ## Run the benchmarks recorded in bench/RESULTS.md
	bash bench/run.sh

fmt: ## Format every Go file
	gofmt -w $$(git ls-files '*.go')

generate: ## Refresh generated data (the module and package graph behind every go.mod)
	go generate ./internal/generate
