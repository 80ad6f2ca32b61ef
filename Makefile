# A thin layer over CMake. `make run` and `make test` are the README's two
# commands: each installs what is missing, configures, builds, and runs.
BUILD ?= build
JOBS ?= $(shell nproc)
LAB ?= scenarios/labs/seed-lab.json

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 45
# How many fuzz targets run at once (each is one process on one core).
FUZZ_JOBS ?= 1
TSAN_BUILD ?= build-tsan
SANITIZE_ASAN_TARGETS ?= edgelab_sanitize
SANITIZE_TSAN_TARGETS ?= edgelab-proxy

.PHONY: all deps configure build run test bench clean format format-check fuzz fuzz-deps \
  fuzz-planted sanitize sanitize-build sanitize-planted

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/edgelab run $(LAB) --report-dir $(BUILD)/report

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	bench/proxy.sh $(BUILD)
	bench/check.sh $(BUILD)
	bench/run.sh $(BUILD)

# libFuzzer targets (fuzz/README.md): a clang build of its own with ASan and
# UBSan, each target run FUZZ_SECONDS on a copy of its seed corpus. Not part
# of `make test`; .ci/run runs it after the tests.
fuzz-deps:
	@tools/install-deps.sh --fuzz

# -O1 and line tables only, as OSS-Fuzz builds its fuzzers: a quarter less
# compile time than -O2 -g (measured on net/asio_beast.cpp and
# proxy/client_connection.cpp), and every report still has file:line.
CLANG_CONFIGURE = cmake -S . -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -DNDEBUG'

fuzz: fuzz-deps
	$(CLANG_CONFIGURE) -B $(FUZZ_BUILD) -DEDGELAB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Shows that a crash fails the fuzz run (and so CI): fuzz_netsh built with a
# planted abort, given the input that reaches it. Succeeds when run.sh fails.
PLANTED_BUILD ?= build-fuzz-planted
fuzz-planted: fuzz-deps
	$(CLANG_CONFIGURE) -B $(PLANTED_BUILD) -DEDGELAB_FUZZ=ON -DEDGELAB_FUZZ_PLANTED_CRASH=ON
	cmake --build $(PLANTED_BUILD) -j $(JOBS) --target fuzz_netsh
	mkdir -p $(PLANTED_BUILD)/fuzz-corpus/netsh
	printf 'PLANTED-CRASH\n' > $(PLANTED_BUILD)/fuzz-corpus/netsh/planted
	! fuzz/run.sh $(PLANTED_BUILD) 5 netsh

# The sanitizer runs (sanitize/README.md): edgelab-proxy and the proxy's
# in-process tests with ASan+UBSan in $(FUZZ_BUILD), sharing what `make fuzz`
# compiled there; edgelab-proxy with TSan in $(TSAN_BUILD); the proxy's
# end-to-end tests from `make test`'s build run against both. A failed test or
# any sanitizer report fails it. .ci/run runs it after `make fuzz`.
sanitize-build: fuzz-deps
	$(CLANG_CONFIGURE) -B $(FUZZ_BUILD) -DEDGELAB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(SANITIZE_ASAN_TARGETS)
	$(CLANG_CONFIGURE) -B $(TSAN_BUILD) -DEDGELAB_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(SANITIZE_TSAN_TARGETS)

sanitize: build sanitize-build
	JOBS=$(JOBS) sanitize/run.sh $(FUZZ_BUILD) $(TSAN_BUILD) $(BUILD)

# Shows that a sanitizer report fails the run (and so CI), even one no test
# sees: edgelab-proxy-planted (sanitize/planted.cpp: a leak under ASan, a data
# race under TSan) behind one end-to-end test. Succeeds only when each run
# fails with its sanitizer's report.
sanitize-planted: build
	$(MAKE) sanitize-build SANITIZE_ASAN_TARGETS=edgelab-proxy-planted \
	  SANITIZE_TSAN_TARGETS=edgelab-proxy-planted
	sanitize/planted.sh $(FUZZ_BUILD) $(TSAN_BUILD) $(BUILD)

# clang-format's major version is pinned: another major formats differently.
CLANG_FORMAT ?= clang-format-14

format: deps
	$(CLANG_FORMAT) -i $$(git ls-files '*.cpp' '*.hpp')

# Fails, naming the files, when any C++ file differs from `make format`.
format-check: deps
	$(CLANG_FORMAT) --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(PLANTED_BUILD) $(TSAN_BUILD)
