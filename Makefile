# erlang-cluster-buildpack. `make deps` installs what the build, tests and demo need;
# `make` builds the buildpack tree in build/buildpack (the zip's layout); `make test` runs
# every suite; `make demo` stages the sample app and clusters it locally.
SHELL := /bin/bash
.DEFAULT_GOAL := all

VERSION    := $(shell cat VERSION)
BUILD      := build
BP         := $(BUILD)/buildpack
OBJ        := $(BUILD)/obj

# The sanitizer build has a folder of its own (make test-sanitize), so its objects and
# binaries never mix with the shipped build's: `make BUILD=build/sanitize ...` always means
# AddressSanitizer + UBSan, and every other build dir never has them.
SANITIZE_BUILD := build/sanitize
SANITIZE   :=
ifeq ($(BUILD),$(SANITIZE_BUILD))
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS     ?= -O1 -g
endif

CC         ?= cc
CFLAGS     ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -D_REENTRANT -Wall -Wextra -Werror -Isrc \
              -DECB_VERSION='"$(VERSION)"' $(SANITIZE)
override LDFLAGS += $(SANITIZE)
ERL_ROOT   := /usr/lib/erlang/usr
EI_CFLAGS  := -I$(ERL_ROOT)/include
EI_LIBS    := $(ERL_ROOT)/lib/libei.a -lpthread
# Expanded when a recipe runs, not when make starts: `make deps all` (and a first
# `make demo`) installs these packages after make has read this file.
BUILD_PKGS  = libcjson yaml-0.1 libcurl libcares openssl
PKG_CFLAGS  = $(shell pkg-config --cflags $(BUILD_PKGS) 2>/dev/null)
CJSON_LIBS  = $(shell pkg-config --libs libcjson 2>/dev/null)
YAML_LIBS   = -Wl,-Bstatic $(shell pkg-config --libs yaml-0.1 2>/dev/null) -Wl,-Bdynamic
CURL_LIBS   = $(shell pkg-config --libs libcurl 2>/dev/null)
CARES_LIBS  = -Wl,-Bstatic $(shell pkg-config --libs libcares 2>/dev/null) -Wl,-Bdynamic
# OpenSSL dynamically: the stack has libssl3 (tests/support/stack-check allows it).
SSL_LIBS    = -lssl -lcrypto
RPATH      := -Wl,-rpath,'$$ORIGIN/../lib' -Wl,--enable-new-dtags

# Objects and binaries depend on the flags they were built with: a build with other flags
# (another CFLAGS or CC) rebuilds them instead of reusing what an earlier build left.
FLAGS_STAMP := $(OBJ)/build-flags
BUILD_FLAGS := $(CC) $(CFLAGS) $(LDFLAGS)
ifneq ($(file <$(FLAGS_STAMP)),$(BUILD_FLAGS))
$(FLAGS_STAMP): FORCE
endif
$(FLAGS_STAMP):
	$(shell mkdir -p $(@D))$(file >$@,$(BUILD_FLAGS))
FORCE:

COMMON_SRC := $(wildcard src/common/*.c)
SUPPLY_SRC := $(wildcard src/supply/*.c)
# The agent program: its launch step, its discovery back ends and its run-time loop.
AGENT_SRC  := $(wildcard src/launch/*.c src/discovery/*.c src/agent/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJ)/%.o)
SUPPLY_OBJ := $(SUPPLY_SRC:%.c=$(OBJ)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(OBJ)/%.o)
AGENT_LIB_OBJ := $(filter-out $(OBJ)/src/agent/main.o,$(AGENT_OBJ))
SUPPLY_LIB_OBJ := $(filter-out $(OBJ)/src/supply/main.o,$(SUPPLY_OBJ))

SUPPLY_LIBS  = $(CJSON_LIBS) $(YAML_LIBS)
AGENT_LIBS   = $(CURL_LIBS) $(CJSON_LIBS) $(YAML_LIBS) $(CARES_LIBS) $(EI_LIBS) $(SSL_LIBS)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

SHIPPED_SCRIPTS := bin/detect bin/finalize bin/compile
TEMPLATES  := $(wildcard templates/*)

.PHONY: all deps test test-unit test-sanitize test-stack test-compat test-fresh demo package release clean \
        lint build-deps-present unit-tests integration-drivers sanitize-build
all: $(BP)/bin/supply $(BP)/bin/erlang-cluster-agent $(BP)/lib/libcjson.so.1 \
     $(SHIPPED_SCRIPTS:%=$(BP)/%) $(TEMPLATES:%=$(BP)/%) $(BP)/manifest.yml $(BP)/VERSION

# Without the -dev packages the compiler's errors would not say what is missing.
build-deps-present:
	@missing=; \
	command -v pkg-config >/dev/null || missing=" pkg-config"; \
	for pkg in $(BUILD_PKGS); do pkg-config --exists $$pkg 2>/dev/null || missing="$$missing $$pkg"; done; \
	[ -f $(ERL_ROOT)/lib/libei.a ] || missing="$$missing libei (erlang-dev)"; \
	[ -z "$$missing" ] || { echo "make: the build needs what is not installed:$$missing; run 'make deps' to install it" >&2; exit 1; }

$(OBJ)/%.o: %.c $(wildcard src/*/*.h) $(FLAGS_STAMP) | build-deps-present
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) -c $< -o $@

$(BP)/bin/supply: $(COMMON_OBJ) $(SUPPLY_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(SUPPLY_LIBS) $(RPATH)

$(BP)/bin/erlang-cluster-agent: $(COMMON_OBJ) $(AGENT_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(RPATH)

# Bundled: the stack has no cJSON. Found when the recipe runs (see PKG_CFLAGS).
$(BP)/lib/libcjson.so.1: $(FLAGS_STAMP) | build-deps-present
	@mkdir -p $(@D)
	cp -L "$$(pkg-config --variable=libdir libcjson)/libcjson.so.1" $@

$(BP)/%: %
	@mkdir -p $(@D)
	cp -p $< $@

# Unit tests link the program code minus each main().
$(BUILD)/tests/%: tests/unit/%.c $(COMMON_OBJ) $(SUPPLY_LIB_OBJ) $(AGENT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) $(LDFLAGS) -o $@ $^ \
	  $(shell pkg-config --libs cmocka) $(AGENT_LIBS)

unit-tests: $(UNIT_BIN)

# --- Integration test drivers (tests/integration/*.bats build what they need with make). ---
# dns-probe: one discovery of the dns back end, configured from the environment like the agent.
DNS_PROBE := $(BUILD)/tests/dns-probe
$(DNS_PROBE): tests/integration/dns_probe.c $(COMMON_OBJ) $(AGENT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
# tls-optfile: prints the ssl_dist_optfile the launch step renders (tests/e2e/tls-dist.bats).
TLS_OPTFILE := $(BUILD)/tests/tls-optfile
$(TLS_OPTFILE): tests/integration/tls_optfile.c $(COMMON_OBJ) $(AGENT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
# tls-node-rpc: the agent's connection to a TLS node (agent/erlang_node, agent/dist_socket).
TLS_NODE_RPC := $(BUILD)/tests/tls-node-rpc
$(TLS_NODE_RPC): tests/integration/tls_node_rpc.c $(COMMON_OBJ) $(AGENT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
integration-drivers: $(DNS_PROBE) $(TLS_OPTFILE) $(TLS_NODE_RPC)
# --- end of integration test drivers ---

deps:
	@tests/support/install-deps

# demo and test install the packages first, then build in a second make that starts with
# them present (and in that order, whatever -j says).
test: deps
	@$(MAKE) --no-print-directory -j"$$(nproc)" all unit-tests integration-drivers
	@tests/run-all

# Opt-in: the shipped binaries in a minimal debootstrapped root file system (needs root and
# Debian's mirror; a few minutes the first time).
test-stack: all
	@tests/run-all stack

# Opt-in: the Elixir start styles on Debian's Elixir and on every version in ../shared/elixir,
# each built once into ECB_COMPAT_CACHE (tests/support/elixir-builds; root, namespaces).
test-compat: deps
	@$(MAKE) --no-print-directory -j"$$(nproc)" all
	@tests/run-all compat

# Opt-in: the README's `make demo` and `make test`, run as written in a fresh Debian 12 root
# file system (debootstrap; needs root and Debian's mirror; about 30 minutes).
test-fresh:
	@tests/support/test-fresh

# The sanitizer build, in $(SANITIZE_BUILD): `sanitize-build` only builds it; test-sanitize
# runs the unit, staging/launch and agent integration suites against it.
sanitize-build:
	@$(MAKE) --no-print-directory BUILD=$(SANITIZE_BUILD) all unit-tests integration-drivers

test-sanitize: sanitize-build
	@ECB_BUILD_DIR=$(SANITIZE_BUILD) tests/run-all unit bats integration

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/support/demo

# The zip is made from the shipped build (never the sanitizer's, which lives elsewhere) and
# only once its binaries pass the stack checks (tests/support/stack-check).
package: all
	@tests/support/stack-check $(BP)
	@tests/support/package "$(VERSION)" $(BUILD)

# A release: VERSION, manifest.yml and CHANGELOG.md agree, then the zip and its checksum.
release: all
	@tests/support/stack-check $(BP)
	@grep -qx 'version: $(VERSION)' manifest.yml || { echo "release: manifest.yml version is not $(VERSION)" >&2; exit 1; }
	@grep -q '^## $(VERSION)' CHANGELOG.md || { echo "release: CHANGELOG.md has no '## $(VERSION)' entry" >&2; exit 1; }
	@zip=$$(tests/support/package "$(VERSION)" $(BUILD)) && echo "$$zip" && cat "$$zip.sha256"

lint:
	shellcheck -S warning bin/* templates/*.sh tests/support/* .ci/run 2>/dev/null | head -50

clean:
	rm -rf $(BUILD)

# --- Fuzzing --------------------------------------------------------------------------------
# libFuzzer targets in tests/fuzz (one per parser), built with clang into build/fuzz from
# their own instrumented objects. `make fuzz` runs each for FUZZ_SECONDS, `make fuzz-smoke`
# for FUZZ_SMOKE_SECONDS (CI); `make fuzz-replay` runs every committed corpus file through a
# plain ASan+UBSan build of each target. See tests/fuzz/README.md.
FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_COMMON_TARGETS := node_name vcap_application vcap_services config_resolve manifest config_yml
FUZZ_AGENT_TARGETS  := eureka_peers oauth_token
FUZZ_TARGETS       := $(FUZZ_COMMON_TARGETS) $(FUZZ_AGENT_TARGETS)
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS         = -O1 -g -std=c11 -D_GNU_SOURCE -D_REENTRANT -Wall -Wextra -Werror -Isrc \
                      -Itests/fuzz -DECB_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(EI_CFLAGS)
FUZZ_SUPPORT_SRC   := tests/fuzz/fuzz_support.c
FUZZ_LIB_SRC       := $(COMMON_SRC) $(FUZZ_SUPPORT_SRC)
FUZZ_AGENT_LIB_SRC := $(filter-out src/agent/main.c,$(AGENT_SRC))
FUZZ_BINS          := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_REPLAY_BINS   := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/replay_%)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-replay
# Instrumented for libFuzzer's coverage feedback, and the same code with sanitizers only.
$(FUZZ_DIR)/obj/%.o: %.c $(wildcard src/*/*.h tests/fuzz/*.h) | build-deps-present
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/replay-obj/%.o: %.c $(wildcard src/*/*.h tests/fuzz/*.h) | build-deps-present
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -c $< -o $@

$(FUZZ_COMMON_TARGETS:%=$(FUZZ_DIR)/fuzz_%): $(FUZZ_DIR)/fuzz_%: \
  $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(SUPPLY_LIBS)
$(FUZZ_AGENT_TARGETS:%=$(FUZZ_DIR)/fuzz_%): $(FUZZ_DIR)/fuzz_%: \
  $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
  $(FUZZ_AGENT_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(AGENT_LIBS)
$(FUZZ_COMMON_TARGETS:%=$(FUZZ_DIR)/replay_%): $(FUZZ_DIR)/replay_%: \
  $(FUZZ_DIR)/replay-obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/replay-obj/tests/fuzz/replay_main.o \
  $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/replay-obj/%.o)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(SUPPLY_LIBS)
$(FUZZ_AGENT_TARGETS:%=$(FUZZ_DIR)/replay_%): $(FUZZ_DIR)/replay_%: \
  $(FUZZ_DIR)/replay-obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/replay-obj/tests/fuzz/replay_main.o \
  $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/replay-obj/%.o) $(FUZZ_AGENT_LIB_SRC:%.c=$(FUZZ_DIR)/replay-obj/%.o)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(AGENT_LIBS)

fuzz-build: $(FUZZ_BINS) $(FUZZ_REPLAY_BINS)

fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@tests/fuzz/run $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	@tests/fuzz/replay $(FUZZ_TARGETS)
# --- end of fuzzing -------------------------------------------------------------------------

# --- Benchmarks -----------------------------------------------------------------------------
# `make bench` runs every benchmark in bench/ (root: convergence, footprint, compare, memory and tls-* use
# network namespaces) and writes raw samples and summaries to bench/results; bench/report
# turns them into bench/RESULTS.md and bench/convergence.png. BENCH_QUICK=1 is a smoke run
# (fewer sizes, repetitions and a 2-minute footprint window). Not part of `make test`.
BENCH_QUICK ?= 0
BENCH_DIR   := $(BUILD)/bench
BENCH_REGISTRY_SCALE := $(BENCH_DIR)/registry-scale

.PHONY: bench bench-build bench-staging bench-registry-scale bench-convergence bench-footprint \
        bench-compare bench-memory bench-tls-dist bench-tls-cluster bench-hostile bench-report
$(BENCH_REGISTRY_SCALE): bench/registry_scale.c $(COMMON_OBJ) $(AGENT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(EI_CFLAGS) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

bench-build: all $(BENCH_REGISTRY_SCALE)

bench-staging: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/staging

bench-registry-scale: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/registry-scale $(BENCH_REGISTRY_SCALE)

bench-convergence: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/convergence

bench-footprint: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/footprint

bench-compare: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/compare

bench-memory: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/memory

bench-tls-dist: bench-build $(TLS_OPTFILE)
	@BENCH_QUICK=$(BENCH_QUICK) bench/tls-dist

bench-tls-cluster: bench-build $(TLS_OPTFILE)
	@BENCH_QUICK=$(BENCH_QUICK) bench/tls-cluster

# A registry listing 100,000 made-up members for 5 minutes (loopback; no root needed).
bench-hostile: bench-build
	@BENCH_QUICK=$(BENCH_QUICK) bench/hostile-registry

bench-report:
	@BENCH_QUICK=$(BENCH_QUICK) bench/report

# One after the other (never in parallel: they would time each other).
bench: bench-build
	@$(MAKE) --no-print-directory -j1 bench-staging bench-registry-scale bench-convergence \
	  bench-footprint bench-compare bench-memory bench-tls-dist bench-tls-cluster bench-hostile \
	  bench-report \
	  BENCH_QUICK=$(BENCH_QUICK)
# --- end of benchmarks ----------------------------------------------------------------------
