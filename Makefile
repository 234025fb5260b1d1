# lair — the two commands: `make demo` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
LAIR_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/lair
ORT_VERSION := 1.30.0
ORT_TGZ_SHA256 := 6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_LIB_SHA256 := ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DIR   := $(LAIR_CACHE)/onnxruntime/$(ORT_VERSION)
ORT_LIB   := $(ORT_DIR)/libonnxruntime.so.1
NODE_TOOLS := $(CURDIR)/tools/node/node_modules
# The shared data mirror beside the checkout, when present; LAIR_MIRROR overrides.
SHARED_RAW := $(abspath $(CURDIR)/../shared/data/raw)
LAIR_MIRROR ?= $(shell [ -d "$(SHARED_RAW)" ] && echo "$(SHARED_RAW)")
BIN := $(CURDIR)/bin/lair
# GoMLX's pure-Go backend: never parallelism=2 on 2 cores (it can deadlock).
export GOMLX_BACKEND ?= go:parallelism=16
# Go 1.26's SIMD experiment makes GoMLX's pure-Go backend ~3x faster.
export GOEXPERIMENT ?= simd
export LAIR_CACHE
export LAIR_MIRROR
export LAIR_ORT_LIB ?= $(ORT_LIB)
export LAIR_NODE_TOOLS := $(NODE_TOOLS)
export CGO_ENABLED := 1

.PHONY: all demo test bench setup build ort node-tools chromium versitygw vet fmt clean

all: build

## demo: set everything up and run the quickstart DAG end to end.
## GOMEMLIMIT (default DEMO_GOMEMLIMIT) is the Go runtime's soft memory limit for the run: the
## garbage collector works harder near it, which keeps the demo's peak RSS under 1.5 GiB at no
## measurable CPU cost (bench/RESULTS.md); GOMEMLIMIT=off runs without one.
DEMO_GOMEMLIMIT ?= 1100MiB
demo: ort build
	GOMEMLIMIT=$${GOMEMLIMIT:-$(DEMO_GOMEMLIMIT)} $(BIN) run dags/quickstart.yaml

## test: set everything up and run every test.
test: setup
	$(GO) vet ./...
	LAIR_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 18m ./...

## bench: the long benchmarks recorded in bench/RESULTS.md.
bench: setup build
	bash bench/run.sh

setup: ort node-tools chromium versitygw
	$(GO) mod download

build:
	$(GO) mod download
	$(GO) build -o $(BIN) ./cmd/lair

## ort: fetch the ONNX Runtime CPU library from npm (no install scripts) and verify it.
ort: $(ORT_LIB)
$(ORT_LIB):
	mkdir -p "$(ORT_DIR)"
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cd "$$tmp" && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null && \
	echo "$(ORT_TGZ_SHA256)  onnxruntime-node-$(ORT_VERSION).tgz" | sha256sum -c --quiet && \
	tar xzf onnxruntime-node-$(ORT_VERSION).tgz package/bin/napi-v6/linux/x64/libonnxruntime.so.1 && \
	echo "$(ORT_LIB_SHA256)  package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet && \
	cp package/bin/napi-v6/linux/x64/libonnxruntime.so.1 "$(ORT_LIB).tmp" && mv "$(ORT_LIB).tmp" "$(ORT_LIB)"

## node-tools: second readers and reference implementations used by tests.
node-tools: $(NODE_TOOLS)/.installed
# nodejs-polars' native package declares node >= 22, so npm skips it on Debian's node 20,
# where it works (checked): unpack it from the registry by hand, pinned by sha256.
POLARS_NATIVE := nodejs-polars-linux-x64-gnu-0.25.2.tgz
POLARS_NATIVE_SHA256 := baa5c5534d0de39f01a88630e61b5894636803b2f82bdf90b7807bda65dca92a
$(NODE_TOOLS)/.installed: tools/node/package.json tools/node/package-lock.json
	cd tools/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cd "$$tmp" && npm pack --silent nodejs-polars-linux-x64-gnu@0.25.2 >/dev/null && \
	echo "$(POLARS_NATIVE_SHA256)  $(POLARS_NATIVE)" | sha256sum -c --quiet && tar xzf $(POLARS_NATIVE) && \
	rm -rf "$(NODE_TOOLS)/nodejs-polars-linux-x64-gnu" && cp -r package "$(NODE_TOOLS)/nodejs-polars-linux-x64-gnu"
	touch $@

## versitygw: the real S3 server the store tests run (internal/s3server), built
## once from the Go module proxy as its own module (~1.5 min CPU).
VGW_VERSION := v1.8.0
VGW_BIN := $(LAIR_CACHE)/tools/versitygw-$(VGW_VERSION)/versitygw
versitygw: $(VGW_BIN)
$(VGW_BIN):
	mkdir -p "$(dir $(VGW_BIN))"
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cd "$$tmp" && GOBIN="$$tmp" GOFLAGS= GOWORK=off GOEXPERIMENT= CGO_ENABLED=0 \
	  $(GO) install -trimpath github.com/versity/versitygw/cmd/versitygw@$(VGW_VERSION) && \
	mv "$$tmp/versitygw" "$(VGW_BIN)"

## chromium: headless browser for the report test (Debian package).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

clean:
	rm -rf bin
