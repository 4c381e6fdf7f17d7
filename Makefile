# tokenmeter — `make help` lists the targets.
GO          ?= go
WASM        := dist/tokenmeter.wasm
FUZZTIME    ?= 10s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build test unit bench fuzz lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## compile the plugin to dist/tokenmeter.wasm
	@mkdir -p dist
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $(WASM) ./plugin

test: unit ## run every test

unit: build ## run every unit test, natively and against the compiled .wasm
	$(GO) test -count=1 ./...

bench: ## run the benchmarks
	$(GO) test -run='^$$' -bench=. -benchmem ./sseparse ./parsers

fuzz: ## run each fuzz target for FUZZTIME
	@set -e; for pkg in ./sseparse ./parsers; do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

lint: ## go vet and staticcheck
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./plugin
	$(GO) run $(STATICCHECK) ./...

clean: ## remove build output
	rm -rf dist
