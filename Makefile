# Thin wrapper around CMake: `make run` and `make test` work on a fresh Debian 12 machine.
#
#   make            install missing Debian packages (as root), configure, build
#   make run        build, then run the built-in default scenario (writes results/default.h5)
#   make test       build, then run every test with ctest
#   make sanitize   ASan + UBSan build in $(ASAN_DIR) with warnings as errors, then its tests
#   make bench      build, then run every benchmark (BENCH_ARGS=--smoke for a quick pass)
#   make notebooks  build, then the teaching notebooks (one per tutorial step) in $(BUILD_DIR)/notebooks
#   make clean      remove the build folders (results/ is kept)
#
# Overridable: BUILD_DIR, ASAN_DIR, CMAKE_FLAGS (extra -D options; when given, the build folder is
# reconfigured with them), BUILD_TYPE, JOBS, RUN_ARGS, BENCH_ARGS, EXTRA_PKGS (more Debian
# packages to require).  LLMSIM_SKIP_DEPS=1 in the environment skips the package check.

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RUN_ARGS ?=
BENCH_ARGS ?=
EXTRA_PKGS ?=

CMAKE ?= cmake
CTEST ?= ctest

.DEFAULT_GOAL := build
.PHONY: all build deps configure run test sanitize bench notebooks clean help

all: build

help:
	@sed -n '3,9p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@EXTRA_PKGS="$(EXTRA_PKGS)" bash .ci/deps.sh

# Configure once; again only when CMAKE_FLAGS asks for something.
configure: deps
	@if [ ! -f "$(BUILD_DIR)/CMakeCache.txt" ] || [ -n "$(strip $(CMAKE_FLAGS))" ]; then \
	    echo "$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)"; \
	    $(CMAKE) -S . -B "$(BUILD_DIR)" -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS); \
	fi

build: configure
	$(CMAKE) --build "$(BUILD_DIR)" -j$(JOBS)

run: build
	@mkdir -p results
	./$(BUILD_DIR)/llmsim run $(RUN_ARGS)

test: build
	$(CTEST) --test-dir "$(BUILD_DIR)" --output-on-failure -j$(JOBS)

# Benchmarks are not needed under the sanitizers; the tests are.  ASan and UBSan run the code
# 2 to 5 times slower, so the Check suites' per-case time limits (guards against hangs, set for
# the plain build) are scaled by CK_TIMEOUT_MULTIPLIER (default 5 here).
sanitize: deps
	@if [ ! -f "$(ASAN_DIR)/CMakeCache.txt" ] || [ -n "$(strip $(CMAKE_FLAGS))" ]; then \
	    $(CMAKE) -S . -B "$(ASAN_DIR)" -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	        -DLLMSIM_SANITIZE=ON -DLLMSIM_WERROR=ON -DLLMSIM_BUILD_BENCH=OFF $(CMAKE_FLAGS); \
	fi
	$(CMAKE) --build "$(ASAN_DIR)" -j$(JOBS)
	ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}" \
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
	CK_TIMEOUT_MULTIPLIER="$${CK_TIMEOUT_MULTIPLIER:-5}" \
	    $(CTEST) --test-dir "$(ASAN_DIR)" --output-on-failure -j$(JOBS)

bench: build
	@set -e; found=0; \
	for b in "$(BUILD_DIR)"/bench/bench_*; do \
	    [ -f "$$b" ] && [ -x "$$b" ] || continue; \
	    found=1; echo "== $$b $(BENCH_ARGS)"; "$$b" $(BENCH_ARGS); \
	done; \
	[ "$$found" = 1 ] || echo "no benchmarks in $(BUILD_DIR)/bench"

# The teaching notebooks, executed (and as HTML), from the example scenarios; the README's plot
# is the image of step 3's side-by-side latency CDFs, copied to $(README_PNG).
README_PNG ?= docs/img/notebook-prompt-caching.png
notebooks: build
	/usr/bin/python3 notebooks-export/teaching.py --llmsim "$(BUILD_DIR)/llmsim" \
	    --out "$(BUILD_DIR)/notebooks" --html --readme-png "$(README_PNG)"

clean:
	rm -rf "$(BUILD_DIR)" "$(ASAN_DIR)"
