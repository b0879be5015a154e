# Local development and CI entry points. Service handling lives in scripts/services.sh.
#   make run      whole stack: PostgreSQL, Redis, mailpit, migrate, seed, api + worker (Ctrl-C stops)
#   make test     go test -race ./... after making sure PostgreSQL and Redis answer
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Go is installed in /usr/local/go on our machines; make it findable without touching ~/.profile.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
FUZZTIME ?= 60s

.PHONY: help run test bench build migrate fuzz services stop status lint clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

run: ## start everything, print the admin token, run api + worker until Ctrl-C
	@scripts/run.sh

test: ## ensure PostgreSQL/Redis, then go test -race -count=1 ./... (GOTESTFLAGS, PKGS)
	@scripts/test.sh

bench: ## ensure services, run the benchmarks and print a table (BENCH, BENCHTIME, BENCHCOUNT)
	@scripts/bench.sh

build: ## build bin/api and bin/worker
	$(GO) build -o bin/api ./cmd/api
	$(GO) build -o bin/worker ./cmd/worker
	$(GO) build -o bin/mlctl ./cmd/mlctl

migrate: ## ensure services, build, apply migrations to DATABASE_URL
	@scripts/run.sh migrate

fuzz: ## fuzz the CSV parser for FUZZTIME (default 60s)
	$(GO) test ./internal/csvfile -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)

services: ## ensure PostgreSQL, Redis, the app database and mailpit (left running)
	@scripts/services.sh up

stop: ## stop what .devstack started (api/worker of a dead make run, mailpit, redis, postgres)
	@scripts/services.sh stop

status: ## what answers, and what .devstack started
	@scripts/services.sh status

lint: ## gofmt -l and go vet
	@files=$$(find . -name '*.go' -not -path './.devstack/*' -not -path './vendor/*' -not -path './.git/*'); \
	unformatted=$$( [ -z "$$files" ] || gofmt -l $$files ); \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean: ## remove build outputs and coverage/profile files (keeps .devstack data)
	rm -rf bin/ coverage.* *.coverprofile *.out *.test *.prof

distclean: stop clean ## stop services, then remove .devstack (databases, mailpit binary)
	rm -rf .devstack/
