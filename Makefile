# airvec — developer targets. `make test` is the README's test command.
GO ?= go
# Packages with concurrency, run again under -race.
RACE_PKGS ?= ./kernels/... ./tokenizer/... ./embed/... ./rerank/... ./sparse/... ./multimodal/... ./weights/... ./internal/... ./examples/airvec/...
FUZZTIME ?= 20s

.PHONY: test lint vet bench fuzz-short build

build:
	CGO_ENABLED=0 $(GO) build ./...

vet:
	$(GO) vet ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: lint build
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./kernels/... ./tokenizer/...
	$(GO) test -count=1 -race -short $(RACE_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzz target for FUZZTIME.
fuzz-short:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
