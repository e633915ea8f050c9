# interop: the Go toolkit for the Interop Data API.
# `make run` serves the reference server with demo data; `make test` runs every test.

GO      ?= go
ADDR    ?= 127.0.0.1:8080
DB      ?= ./interop.db
BIN     ?= bin/interop
PKGS    ?= ./...
FUZZTIME ?= 30s

.PHONY: all generate check-generate check-generators lint spec-lint test test-short cover run build bench bench-page bench-load fuzz clean docs-test check-breaking scale

all: lint test

## generate: regenerate gen/ and the per-operation layers (*.gen.go in pkg/) from api/openapi.yaml
generate:
	$(GO) generate ./gen/...
	$(GO) run ./internal/cmd/opgen

## check-generate: regenerate and fail if gen/ differs from what is committed
check-generate: generate
	@if ! git diff --quiet -- gen/ '*.gen.go' || [ -n "$$(git ls-files --others --exclude-standard gen/ '*.gen.go')" ]; then \
		echo "gen/ is out of date with api/openapi.yaml: run 'make generate' and commit the result"; \
		git --no-pager diff --stat -- gen/ '*.gen.go'; git ls-files --others --exclude-standard gen/ '*.gen.go'; exit 1; \
	fi

## spec-lint: validate api/openapi.yaml (examples included)
spec-lint:
	$(GO) test -count=1 -run 'TestSpec|TestOperations|TestEvery|TestSchemas' ./api/

## check-generators: api/openapi.yaml through other generators and linters, pinned: openapi-typescript + tsc, Spectral, Redocly, ogen (its client walks the reference server); needs node and npm (skipped without them, failed under CI=true)
check-generators:
	internal/othergen/check.sh

## lint: spec validation, gofmt, go vet, staticcheck
lint: spec-lint
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck $(PKGS)

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## test-short: skips the slow load and restart tests
test-short:
	$(GO) test -short -count=1 $(PKGS)

## cover: coverage of the client package
cover:
	$(GO) test -race -cover ./pkg/client/...

## run: the reference server on the embedded store with the demo tenant (ADDR, DB); built, then exec'd, so that stopping make stops it
run: build
	exec $(BIN) serve --demo --addr $(ADDR) --db $(DB)

## scale: REPLICAS (3) reference servers on PostgreSQL (PG: default the local one, schema interop_scale) behind HAProxy on LB (127.0.0.1:8088), replicas from PORT (8091); Ctrl-C stops all
scale: build
	exec env BIN=$(BIN) $(if $(PG),DB='$(PG)') $(if $(REPLICAS),REPLICAS=$(REPLICAS)) $(if $(LB),LB=$(LB)) $(if $(PORT),PORT=$(PORT)) deploy/scale/scale.sh

## docs-test: the API reference page (/docs) in headless Chromium (/usr/bin/chromium or $$INTEROP_CHROMIUM); screenshot in pkg/server/docs/screenshots/
docs-test:
	$(GO) test -count=1 -run 'TestDocsInBrowser' -v ./pkg/server/docs/

## check-breaking: fail on breaking changes of api/openapi.yaml since the last release (BASE=ref to choose) not recorded in CHANGELOG.md
check-breaking:
	$(GO) run ./internal/cmd/check-breaking $(if $(BASE),-base $(BASE))

## build: the interop binary
build:
	$(GO) build -o $(BIN) ./cmd/interop

## bench: the benchmarks reported in docs/PERFORMANCE.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-page: a 100-person page's server CPU beside its floor (BenchmarkPageCPU); BASE=ref also measures that commit's servers in the same run
PAGEBENCH ?= 3000x
bench-page:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) test -c -o "$$tmp/page.test" ./cmd/interop; \
	if [ -n "$(BASE)" ]; then \
		mkdir "$$tmp/base"; git archive "$(BASE)" | tar -x -C "$$tmp/base"; \
		(cd "$$tmp/base" && $(GO) test -c -o "$$tmp/base.test" ./cmd/interop); \
		export INTEROP_TEST_PAGE_BASELINE="$$tmp/base.test"; \
	fi; \
	cd "$$tmp" && ./page.test -test.run '^$$' -test.bench PageCPU -test.benchtime $(PAGEBENCH) -test.count $(or $(COUNT),3)

## bench-load: a OneRoster load per store (first, again, 5% changed) beside the
## engine's bulk copy of the same rows, and the waits of another tenant meanwhile
## (USERS=50000 by default; PostgreSQL needs INTEROP_TEST_POSTGRES)
USERS ?= 50000
bench-load:
	$(GO) test -run '^$$' -bench BenchmarkLoadFloor -benchtime 1x -timeout 60m ./pkg/reference/oneroster -oneroster.users $(USERS) -v

## fuzz: every Go fuzz target (func FuzzXxx in a _test.go file), FUZZTIME each (default 30s)
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2 | sort -u); do \
			echo "== fuzz $$dir $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$dir || exit 1; \
		done; \
	done

clean:
	rm -rf bin
