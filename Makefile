# Hotline's build and test entry points. `make test` is what CI runs.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: run build test test-short test-replicas vet bench fuzz

## run: start Hotline with no config (SQLite, console chat, dry-run phone)
run:
	go run ./cmd/hotline serve

## build: static binaries in bin/
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/hotline ./cmd/hotline
	CGO_ENABLED=0 go build -trimpath -o bin/hotline-bench ./cmd/hotline-bench

vet:
	go vet ./...

## test: vet + the whole suite with the race detector, PostgreSQL included
## (a throwaway cluster is started from this machine's postgres binaries)
test: vet
	.ci/with-postgres go test -race -count=1 -timeout 20m ./...

## test-replicas: three replicas on one PostgreSQL under kill -9, three runs
## in a row (about 45 s each; `make test` runs it once)
test-replicas:
	for i in 1 2 3; do .ci/with-postgres go test -count=1 -v -run TestThreeReplicasUnderKills ./cmd/hotline/ || exit 1; done

## test-short: the suite without the race detector, for a quick loop
test-short:
	.ci/with-postgres go test -count=1 ./...

## fuzz: run each parser's fuzz target (payloads, commands, mail) for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	for t in FuzzGeneric FuzzAlertmanager FuzzGrafana; do \
		go test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) ./adapters/webhook/ || exit 1; done
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./commands/
	go test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./adapters/mail/

## bench: the ingest load tool against a real server, on SQLite and PostgreSQL
bench: build
	.ci/with-postgres .ci/bench
