SHELL := /bin/bash
# Thin wrapper over CMake/CTest. `make` builds, `make test` builds and runs
# every test (all variants, then the ASan+UBSan and TSan builds), `make bench`
# runs the benchmark suite (FULL=1 for the long run).
JOBS    ?= $(shell nproc)
BUILD   ?= build
CMAKE   ?= cmake
CTEST   ?= ctest
export CTEST_OUTPUT_ON_FAILURE = 1

.PHONY: all build test test-main test-asan test-tsan bench deps clean

all: build

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

build-asan/CMakeCache.txt:
	$(CMAKE) -S . -B build-asan -DR3_SANITIZE=address -DR3_VARIANTS=OFF

build-tsan/CMakeCache.txt:
	$(CMAKE) -S . -B build-tsan -DR3_SANITIZE=thread -DR3_VARIANTS=OFF

test-main: build
	cd $(BUILD) && $(CTEST) -j $(JOBS) --timeout 900

test-asan: build-asan/CMakeCache.txt
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && $(CTEST) -j $(JOBS) -L sanitize --timeout 900

test-tsan: build-tsan/CMakeCache.txt
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && $(CTEST) -j $(JOBS) -L sanitize --timeout 900

# Every test: the main tree (all variants, real programs), then the sanitizer trees.
test: deps
	@$(MAKE) -k --no-print-directory test-main test-asan test-tsan 2>&1 | tee test.log; \
	  status=$${PIPESTATUS[0]}; \
	  tools/test-summary test.log; exit $$status

# Installs (on Debian, as root) what the tests need; elsewhere says what is missing.
deps:
	@tools/deps test

bench: deps-bench build
	bench/run $(if $(FULL),--full,)

deps-bench:
	@tools/deps bench

clean:
	rm -rf $(BUILD) build-asan build-tsan test.log
