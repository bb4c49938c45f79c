# kubectl-globalquery — build, test, and a local stand-in cluster.
# Tool versions live in hack/versions.env; tools are built from the Go module proxy into bin/
# once and reused.
include hack/versions.env

SHELL      := /usr/bin/env bash
GO         ?= go
BIN        := $(CURDIR)/bin
BED_DIR    ?= $(CURDIR)/.bed
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -s -w -X github.com/globalquery/kubectl-globalquery/pkg/cmd.Version=$(VERSION)
PLUGIN     := $(BIN)/kubectl-globalquery
TOOLS      := etcd kwok thanos prometheus kube-apiserver krew histogram-target toxiproxy validate-krew-manifest

.PHONY: all build tools test test-unit vet validate-manifest bed bed-down demo dist clean $(addprefix tool-,$(TOOLS))

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(PLUGIN) ./cmd/kubectl-globalquery

# Each tool builds only when its stamp in bin/ names another version than hack/versions.env.
tools: $(addprefix tool-,$(TOOLS))
$(addprefix tool-,$(TOOLS)): tool-%:
	@hack/build-tool.sh $*

vet:
	$(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 ./pkg/... ./cmd/... ./krew/... ./internal/...

# The e2e tests whose goroutines cross the most: serve under load, tunnels reopened while
# queries wait on them, stores and API servers cut mid-answer. They run a second time under
# the race detector; the rest of the e2e package runs once without it, to keep the time down.
E2E_RACE := Soak|Retry|Toxic|NotReadyPod|PortForwardForbidden|HugeResultLimits|PartialResponse|SlowStore|Interrupt|ServeStoreGone

# Unit tests under the race detector, then the integration tests. Each e2e run starts its own
# bed (real etcd, kube-apiserver, kube-controller-manager, kwok, Prometheus, Thanos sidecars and
# Querier) and stops it when it ends.
test: vet
	@$(MAKE) --no-print-directory -j3 tools
	@$(MAKE) --no-print-directory validate-manifest
	@$(MAKE) --no-print-directory test-unit
	GLOBALQUERY_REQUIRE_BED=1 $(GO) test -count=1 -timeout 20m ./test/... ./bench/... ./hack/...
	GLOBALQUERY_REQUIRE_BED=1 $(GO) test -race -count=1 -timeout 20m -run '$(E2E_RACE)' ./test/e2e/

# plugin.yaml through krew's own validate-krew-manifest, which wants the file named after the
# plugin. Its install check (sha256, LICENSE extracted) needs the archives: the krew e2e test
# runs it on this platform's archive.
validate-manifest: tool-validate-krew-manifest
	@d=$$(mktemp -d) && cp plugin.yaml "$$d/globalquery.yaml" && \
	  $(BIN)/validate-krew-manifest -manifest "$$d/globalquery.yaml" -skip-install; \
	  rc=$$?; rm -rf "$$d"; exit $$rc

bed:
	@$(MAKE) --no-print-directory -j3 tools
	$(GO) run ./hack/bed up -dir $(BED_DIR)

bed-down:
	$(GO) run ./hack/bed down -dir $(BED_DIR)

# The main job on the local stand-in: real kubectl finds the plugin on PATH, as after a krew
# install, and runs a deduplicated global query through discovery and port-forward tunnels.
# (kubectl refuses flags before a plugin's name, so the kubeconfig comes from KUBECONFIG.)
demo: build bed
	@mkdir -p $(BIN)/plugins && cp $(PLUGIN) $(BIN)/plugins/kubectl-globalquery
	@echo; echo '$$ kubectl globalquery stores'
	@PATH="$(BIN)/plugins:$$PATH" KUBECONFIG=$(BED_DIR)/kubeconfig $(BIN)/kubectl globalquery stores
	@echo; echo "$$ kubectl globalquery 'up' --dedup"
	@PATH="$(BIN)/plugins:$$PATH" KUBECONFIG=$(BED_DIR)/kubeconfig $(BIN)/kubectl globalquery 'up' --dedup
	@echo; echo "$$ kubectl globalquery 'count by (cluster) (up)' --dedup=false"
	@PATH="$(BIN)/plugins:$$PATH" KUBECONFIG=$(BED_DIR)/kubeconfig $(BIN)/kubectl globalquery 'count by (cluster) (up)' --dedup=false
	@echo; echo "The bed is still running (kubeconfig: $(BED_DIR)/kubeconfig). Stop it with: make bed-down"

clean:
	rm -rf $(PLUGIN) $(BIN)/plugins dist

# Release archives for every krew platform and plugin.yaml with their sha256s.
dist:
	hack/dist.sh $(VERSION)

# Side-by-side figures against the Thanos Querier on the same stores: engine, high cardinality,
# cold start and tunnel throughput, as one table of medians and ratios. The generated
# high-cardinality blocks are kept in BENCH_DIR and reused by later runs.
BENCH_DIR ?= $(CURDIR)/bench/.data
.PHONY: bench
bench: build
	@$(MAKE) --no-print-directory -j3 tools
	BENCH_DIR=$(BENCH_DIR) $(GO) run ./bench
