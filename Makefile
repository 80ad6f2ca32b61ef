# A thin layer over CMake. `make run` and `make test` are the README's two
# commands: each installs what is missing, configures, builds, and runs.
BUILD ?= build
JOBS ?= $(shell nproc)
LAB ?= scenarios/labs/seed-lab.json

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 45

.PHONY: all deps configure build run test bench clean format format-check fuzz fuzz-deps fuzz-planted

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

fuzz: fuzz-deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGELAB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Shows that a crash fails the fuzz run (and so CI): fuzz_netsh built with a
# planted abort, given the input that reaches it. Succeeds when run.sh fails.
PLANTED_BUILD ?= build-fuzz-planted
fuzz-planted: fuzz-deps
	cmake -S . -B $(PLANTED_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGELAB_FUZZ=ON -DEDGELAB_FUZZ_PLANTED_CRASH=ON
	cmake --build $(PLANTED_BUILD) -j $(JOBS) --target fuzz_netsh
	mkdir -p $(PLANTED_BUILD)/fuzz-corpus/netsh
	printf 'PLANTED-CRASH\n' > $(PLANTED_BUILD)/fuzz-corpus/netsh/planted
	! fuzz/run.sh $(PLANTED_BUILD) 5 netsh

# clang-format's major version is pinned: another major formats differently.
CLANG_FORMAT ?= clang-format-14

format: deps
	$(CLANG_FORMAT) -i $$(git ls-files '*.cpp' '*.hpp')

# Fails, naming the files, when any C++ file differs from `make format`.
format-check: deps
	$(CLANG_FORMAT) --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(PLANTED_BUILD)
