# benchplan — make targets. `make run` and `make test` work on a fresh machine with Go 1.26.
GO        ?= go
BIN       := bin/benchplan
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
DIST      ?= dist
# The release's targets; `make release RELEASE_TARGETS=linux/amd64` builds one.
RELEASE_TARGETS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
LDFLAGS   := -s -w -X github.com/benchplan/benchplan/executor.Version=$(VERSION) -X github.com/benchplan/benchplan/executor.Commit=$(COMMIT)

.PHONY: all build test test-race lint run bench verdict-check cancel-check dataset-check kube-check image release release-image clean

all: build

build: ## build bin/benchplan (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/benchplan

test: build ## run every test (Docker and xmllint tests skip visibly when absent)
	$(GO) test -count=1 ./...

test-race: ## every package's tests under the race detector, the CLI's included (they run it in-process)
	$(GO) test -race -count=1 ./...

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

kube-check: ## the Kubernetes launcher against a real kube-apiserver and etcd (BENCHPLAN_KUBE_APISERVER from scripts/kube-apiserver.sh, BENCHPLAN_ETCD; skips visibly without them), about 10 s once built
	$(GO) test -count=1 -v -run '^TestKubernetesAgainstARealAPIServer$$' ./executor/servers/kube/

dataset-check: build ## replay a 1 GB ShareGPT file and a 1 GB JSONL file (generated) against the simulator: peak RSS under 200 MB each (about 4 min, 2 GB in $$TMPDIR)
	./scripts/dataset-check.sh

image: ## container image of the simulator (benchplan-sim:latest, FROM scratch)
	$(MAKE) build
	docker build -t benchplan-sim:latest .

release: ## release assets in dist/ as a tag publishes them (scripts/release.sh): static binaries for linux and darwin on amd64 and arm64, the schemas, SHA256SUMS; then checks them
	DIST='$(DIST)' TARGETS='$(RELEASE_TARGETS)' GO='$(GO)' ./scripts/release.sh '$(VERSION)' '$(COMMIT)'
	DIST='$(DIST)' ./scripts/release-check.sh '$(VERSION)'

release-image: ## the benchplan CLI image (FROM scratch, Dockerfile.release) from dist/benchplan-linux-amd64 (DIST must be dist): benchplan:VERSION
	@test -x dist/benchplan-linux-amd64 || { echo "no dist/benchplan-linux-amd64: run make release first"; exit 1; }
	docker build -f Dockerfile.release --build-arg TARGETARCH=amd64 -t 'benchplan:$(VERSION)' .

clean:
	rm -rf bin benchplan-results $(DIST)
