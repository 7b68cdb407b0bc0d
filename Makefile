# benchplan — make targets. `make run` and `make test` work on a fresh machine with Go 1.26.
GO        ?= go
BIN       := bin/benchplan
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS   := -s -w -X github.com/benchplan/benchplan/executor.Version=$(VERSION) -X github.com/benchplan/benchplan/executor.Commit=$(COMMIT)

.PHONY: all build test test-race lint run bench verdict-check cancel-check image clean

all: build

build: ## build bin/benchplan (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/benchplan

test: build ## run every test (Docker and xmllint tests skip visibly when absent)
	$(GO) test -count=1 ./...

test-race: ## the packages' tests under the race detector (cmd/benchplan's drive a built binary and are left out)
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /cmd/benchplan)

lint: ## gofmt check, go vet, actionlint, and no compiled binary in git
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@bins=$$(git ls-files -z 2>/dev/null | xargs -0 -r sh -c 'for f; do [ -f "$$f" ] && head -c 4 "$$f" | grep -q "^.ELF" && echo "$$f"; done' sh); \
	if [ -n "$$bins" ]; then echo "compiled binaries are tracked by git (build them, do not commit them):"; echo "$$bins"; exit 1; fi
	$(GO) vet ./...
	cd tools/bench && $(GO) vet ./...
	$(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

run: build ## run the quickstart plan on the built-in simulator
	./$(BIN) run plans/quickstart.yaml --out benchplan-results/quickstart/latest --overwrite

bench: ## benchplan's own capacity vs vegeta against the simulator on this machine (about 1.5 min), then the simulator's benchmarks
	cd tools/bench && $(GO) run .
	$(GO) test -run '^$$' -bench . -benchtime 2s ./sim/

verdict-check: build ## 20 pairs of simulator runs: compare's false alarms (same server) and power (TTFT 10% slower), about 7 min
	./scripts/verdict-check/run.sh

cancel-check: build ## `timeout 3 benchplan run` with a container server, 20 times beside a CPU burner: partial results.json and no container left each time (needs Docker, about 1.5 min)
	./scripts/cancel-check.sh

image: ## container image of the simulator (benchplan-sim:latest, FROM scratch)
	$(MAKE) build
	docker build -t benchplan-sim:latest .

clean:
	rm -rf bin benchplan-results
