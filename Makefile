# A thin layer over CMake. `make run` and `make test` are the README's two
# commands: each installs what is missing, configures, builds, and runs.
BUILD ?= build
JOBS ?= $(shell nproc)
LAB ?= scenarios/labs/seed-lab.json

.PHONY: all deps configure build run test bench clean format

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

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
