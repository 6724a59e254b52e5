# teamsflow — build, test and run. `make help` lists the targets.
# Everything a fresh Debian machine needs is installed by the targets
# themselves (as root): clang/llvm for the kernel programs, iproute2 for the
# test namespaces. Go tools are pinned in go.mod.

GO       ?= go
CAPTURES ?= ../shared/captures
BIN      := bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
APT_PKGS := clang llvm libbpf-dev clang-format iproute2 tmux systemd util-linux passwd rpm chromium qemu-user zip
# Packages: deb and rpm versions must start with a digit and hold no '-'.
PKG_DIR     ?= $(BIN)/package
PKG_VERSION ?= $(shell echo $(VERSION) | sed -E 's/^v//; s/-/./g; /^[0-9]+\.[0-9]/!s/^/0.0.0+git./')

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install the Debian packages needed to generate and test (root)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

.PHONY: generate
# Kernel programs with committed bpf2go output: the agent's, and the bench's
# reference flow counter.
BPF_DIRS := bpf cmd/teamsflow-bench/internal/refcount
# Generated from the kernel objects' BTF after them (bpf/internal/contractgen).
CONTRACT_GEN := bpf/contract/contract_gen.go bpf/contract/contract_gen_test.go

generate: deps ## Regenerate the kernel programs' Go bindings (bpf2go)
	$(GO) generate $(addprefix ./,$(addsuffix /,$(BPF_DIRS)))

# The kernel objects are built once for every little-endian architecture
# (bpf2go -target bpfel): no __TARGET_ARCH is defined, so the C cannot use
# an architecture's pt_regs (bpf_tracing.h fails the build), and
# check-generated builds them for amd64 and arm64 too and requires the same
# bytes.
.PHONY: check-generated
check-generated: deps ## Fail when the committed bpf2go output is stale, or differs built for amd64 or arm64
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for d in $(BPF_DIRS); do mkdir -p $$tmp/$$d && cp -r $$d/. $$tmp/$$d/; done; cp go.mod go.sum $$tmp/; \
	(cd $$tmp && $(GO) generate $(addprefix ./,$(addsuffix /,$(BPF_DIRS))) >/dev/null) || exit 1; \
	for f in $(CONTRACT_GEN) $(foreach d,$(BPF_DIRS),$(wildcard $(d)/*_bpfel.go $(d)/*_bpfel.o)); do \
		cmp -s $$f $$tmp/$$f || { echo "$$f is stale: run 'make generate' and commit"; exit 1; }; \
	done; echo "generated kernel objects are current"; \
	sed -i 's/-target bpfel /-target amd64,arm64 /' $(addprefix $$tmp/,$(addsuffix /gen.go,$(BPF_DIRS))); \
	(cd $$tmp && $(GO) generate $(addprefix ./,$(addsuffix /,$(BPF_DIRS))) >/dev/null) || exit 1; \
	for f in $(foreach d,$(BPF_DIRS),$(wildcard $(d)/*_bpfel.o)); do for arch in x86 arm64; do \
		cmp -s $$f $$tmp/$${f%_bpfel.o}_$${arch}_bpfel.o || { echo "$$f differs from its $$arch build: the kernel code must not depend on the architecture"; exit 1; }; \
	done; done; echo "the kernel objects are the same for amd64 and arm64"

.PHONY: build
build: ## Build bin/teamsflow and bin/teamsflow-sim
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/teamsflow ./cmd/teamsflow
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/teamsflow-sim ./cmd/teamsflow-sim

# What a test run must leave as it found it: the package database and the
# accounts. Only `make test-system` may change them.
SYSTEM_STATE := /var/lib/dpkg/status /etc/passwd /etc/group

# The analysis half: builds on any platform and imports nothing
# kernel-specific, so that analyze runs on Windows and macOS.
PORTABLE_PKGS := ./bpf/contract ./agent/observe ./agent/packet ./agent/capfile ./agent/dissect ./agent/names \
	./agent/teams ./agent/classify ./agent/calls ./agent/analysis ./agent/record ./agent/health ./agent/netif

.PHONY: cross
cross: deps ## Cross builds: teamsflow (analyze) for windows/amd64 and darwin/arm64, with the portable packages' tests vetted there; the analysis half imports nothing kernel-specific
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/teamsflow
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/teamsflow
	GOOS=windows GOARCH=amd64 $(GO) build $(PORTABLE_PKGS)
	GOOS=darwin GOARCH=arm64 $(GO) build $(PORTABLE_PKGS)
	@# Their tests too: a test file that needs Linux says so (//go:build linux).
	GOOS=windows GOARCH=amd64 $(GO) vet $(PORTABLE_PKGS) ./cmd/teamsflow
	GOOS=darwin GOARCH=arm64 $(GO) vet $(PORTABLE_PKGS) ./cmd/teamsflow
	GOARCH=arm64 $(GO) build ./...
	@# On arm64 (qemu-user): the kernel objects' ELF and BTF, and analyze's
	@# output on a capture equal to amd64's.
	@mkdir -p $(BIN)/arm64
	GOARCH=arm64 $(GO) test -c -o $(BIN)/arm64/bpf.test ./bpf
	GOARCH=arm64 $(GO) test -c -o $(BIN)/arm64/contract.test ./bpf/contract
	cd bpf && qemu-aarch64 ../$(BIN)/arm64/bpf.test -test.run 'TestBindingsServe|TestEmbeddedObjects'
	cd bpf/contract && qemu-aarch64 ../../$(BIN)/arm64/contract.test
	@if [ -f $(CAPTURES)/teams.pcap ]; then \
		GOARCH=arm64 $(GO) build -o $(BIN)/arm64/teamsflow ./cmd/teamsflow && $(GO) build -o $(BIN)/teamsflow-host ./cmd/teamsflow && \
		qemu-aarch64 $(BIN)/arm64/teamsflow analyze --json $(CAPTURES)/teams.pcap > $(BIN)/arm64/analyze.json && \
		$(BIN)/teamsflow-host analyze --json $(CAPTURES)/teams.pcap > $(BIN)/analyze-host.json && \
		cmp $(BIN)/arm64/analyze.json $(BIN)/analyze-host.json && echo "analyze on arm64: $$(wc -l < $(BIN)/analyze-host.json) records, as on $$($(GO) env GOARCH)" || exit 1; \
	else echo "analyze on arm64: skipped ($(CAPTURES)/teams.pcap missing)"; fi
	@bad=$$($(GO) list -deps $(PORTABLE_PKGS) | grep -E '^(github.com/cilium/|github.com/vishvananda/|github.com/teamsflow/teamsflow/bpf$$|github.com/teamsflow/teamsflow/agent/(kernel|attach|sockets|netns|netif/links|proc|api)$$)'); \
	if [ -n "$$bad" ]; then echo "the analysis half imports kernel-specific packages:"; echo "$$bad"; exit 1; fi

.PHONY: test
test: deps check-generated otelcol cross lint ## Run every test that leaves the machine as it was (root: attaches eBPF programs, makes namespaces)
	@mkdir -p $(BIN) && sha256sum $(SYSTEM_STATE) > $(BIN)/.system-state
	# -p 1: packages that attach programs must not see each other's traffic.
	$(GO) test -count=1 -p 1 -timeout 30m ./...
	# The Kubernetes manifests' test is its own module (keeps k8s.io out of the agent).
	cd deploy/kubernetes && $(GO) vet ./... && $(GO) test -count=1 ./...
	@sha256sum --quiet -c $(BIN)/.system-state || { echo "the tests changed the package database or the accounts"; exit 1; }

.PHONY: test-system
test-system: deps otelcol ## Tests that change the machine: install, upgrade and remove the .deb and .rpm, add the teamsflow account (root, throwaway machines only)
	TEAMSFLOW_SYSTEM_TESTS=1 $(GO) test -count=1 -p 1 -timeout 20m ./deploy/packaging/

# Kernels booted by test-kernels: Debian packages (a metapackage names its
# newest image). Bookworm offers 6.1; add others, e.g. from backports.
KERNELS         ?= linux-image-cloud-amd64
KERNEL_APT_PKGS := qemu-system-x86 busybox-static

.PHONY: deps-kernels
deps-kernels: ## Install what test-kernels needs: qemu (TCG) and a static busybox (root)
	@missing=""; for p in $(KERNEL_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

.PHONY: test-kernels
test-kernels: deps-kernels ## Boot other kernels (KERNELS, default Debian 12's 6.1) under qemu and run the smoke test, ~1 min (root; kernels cached under ~/.cache/teamsflow)
	TEAMSFLOW_KERNELS="$(KERNELS)" $(GO) test -count=1 -v -timeout 30m ./deploy/kernels/

.PHONY: otelcol
otelcol: ## Build (once, cached under ~/.cache/teamsflow) the OpenTelemetry Collector the tests export to
	deploy/otel-collector/build.sh

.PHONY: bench
bench: deps bench-go ## Measure the agent against its overhead budgets, ~10-15 min (root; BENCH_FLAGS="--quick --only churn,rss --strict")
	$(GO) run ./cmd/teamsflow-bench $(BENCH_FLAGS)

.PHONY: bench-go
bench-go: ## Go benchmarks of the hot user-space paths (decode, flow table, snapshot, classify, pipeline, packet twin), ~1 min
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./agent/kernel ./agent/flow ./agent ./agent/classify ./agent/analysis ./agent/packet

.PHONY: lint
lint: lint-c ## gofmt, go vet, staticcheck (pinned in go.mod, run as go tool staticcheck) and clang-format on the kernel C
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The kernel C, checked against bpf/.clang-format (the kernel's style).
C_SOURCES  = $(filter-out bpf/headers/%,$(shell git ls-files '*.c' '*.h'))
LINT_APT_PKGS := clang-format

.PHONY: deps-lint
deps-lint: ## Install what lint-c needs: clang-format (root)
	@dpkg -s $(LINT_APT_PKGS) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(LINT_APT_PKGS) >/dev/null; }

.PHONY: lint-c
lint-c: deps-lint ## clang-format check of the kernel C (bpf/.clang-format; `clang-format -i --style=file:bpf/.clang-format FILE` fixes one)
	clang-format --style=file:bpf/.clang-format --dry-run --Werror $(C_SOURCES)

.PHONY: run
run: build ## Build and run the agent (teamsflow run) in the foreground with defaults (root); Ctrl-C stops it
	$(BIN)/teamsflow run

.PHONY: demo
demo: build ## A 20-second simulated Teams call watched by teamsflow; prints the flow table (root)
	@$(BIN)/teamsflow-sim netns up
	@$(BIN)/teamsflow capture --netns /run/netns/tfsim-client --duration 24s --log-level warn > $(BIN)/demo-table.txt & \
	capture=$$!; sleep 2; \
	$(BIN)/teamsflow-sim play --scenario desktop-qos --duration 20s --truth $(BIN)/demo-truth.json --log-level warn; \
	play=$$?; wait $$capture; cap=$$?; \
	$(BIN)/teamsflow-sim netns down; \
	grep -E '^PROCESS|ms-teams' $(BIN)/demo-table.txt | head -40; \
	echo "(full table: $(BIN)/demo-table.txt, simulator ground truth: $(BIN)/demo-truth.json)"; \
	test $$play -eq 0 && test $$cap -eq 0

.PHONY: package
# PKG_ARCH, not GOARCH: `go tool nfpm` would build nfpm itself for GOARCH.
PKG_ARCH ?= $(shell $(GO) env GOARCH)

package: ## Build the .deb and .rpm (static binary, systemd unit, config) for PKG_ARCH (default: this machine's) into $(PKG_DIR)
	@mkdir -p $(PKG_DIR)
	GOARCH=$(PKG_ARCH) CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(PKG_DIR)/teamsflow ./cmd/teamsflow
	@for fmt in deb rpm; do \
		TEAMSFLOW_BINARY=$(PKG_DIR)/teamsflow PKG_VERSION=$(PKG_VERSION) PKG_ARCH=$(PKG_ARCH) \
		$(GO) tool nfpm package --config deploy/packaging/nfpm.yaml --packager $$fmt --target $(PKG_DIR)/ || exit 1; \
	done

# Release: the agent's packages for each Linux architecture, and analyze
# (which reads capture files anywhere) for the other platforms.
RELEASE_DIR    ?= $(BIN)/release
RELEASE_ARCHES := amd64 arm64
ANALYZE_PLATFORMS := windows/amd64 darwin/arm64

.PHONY: release
release: ## Build the .deb and .rpm for amd64 and arm64, and analyze archives for windows/amd64 and darwin/arm64, into $(RELEASE_DIR)
	@rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	@for arch in $(RELEASE_ARCHES); do \
		$(MAKE) --no-print-directory package PKG_ARCH=$$arch PKG_DIR=$(RELEASE_DIR)/linux-$$arch >/dev/null || exit 1; \
		mv $(RELEASE_DIR)/linux-$$arch/*.deb $(RELEASE_DIR)/linux-$$arch/*.rpm $(RELEASE_DIR)/ && rm -rf $(RELEASE_DIR)/linux-$$arch; \
	done
	@for p in $(ANALYZE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; dir=$(RELEASE_DIR)/teamsflow-$(PKG_VERSION)-$$os-$$arch; exe=teamsflow; \
		[ $$os = windows ] && exe=teamsflow.exe; \
		mkdir -p $$dir && cp LICENSE README.md $$dir/ || exit 1; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$dir/$$exe ./cmd/teamsflow || exit 1; \
		if [ $$os = windows ]; then (cd $(RELEASE_DIR) && zip -qr $$(basename $$dir).zip $$(basename $$dir)); \
		else tar -C $(RELEASE_DIR) -czf $$dir.tar.gz $$(basename $$dir); fi || exit 1; \
		rm -rf $$dir; \
	done
	@ls -1 $(RELEASE_DIR)

.PHONY: eval
# Each public capture's records against the notes of its README
# (agent/analysis/testdata/captures-expected.tsv), then, as root, the
# simulator's scenarios against its ground truth; a tally of each.
eval: ## Labels against the captures' notes and the simulator's truth, with tallies (simulator: root, ~2 min)
	@out=$$(TEAMSFLOW_CAPTURES=$(abspath $(CAPTURES)) TEAMSFLOW_EVAL=1 $(GO) test -count=1 -run '^TestEvalCaptures$$' -v ./agent/analysis/ 2>&1); st=$$?; \
	echo "$$out" | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$$' -e '^ok '; test $$st -eq 0 || exit $$st
	@if [ "$$(id -u)" -ne 0 ]; then echo "simulator: skipped (needs root)"; exit 0; fi; \
	echo "=== simulator scenarios (labels against the simulator's truth)"; \
	out=$$($(GO) test -count=1 -run '^TestSimulatorScenarios$$' -v ./agent/analysis/ 2>&1); st=$$?; \
	echo "$$out" | grep -e 'labelled right' -e 'FAIL' | sed 's/^ *sim_test.go:[0-9]*: /  /'; test $$st -eq 0

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BIN)
