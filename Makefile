# Threadly - the two commands (`make run`, `make test`) and the steps under them.
BUILD ?= build
BUILD_ASAN ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: run test setup setup-test build build-asan unit check-format format check-layers bench bench-timelines bench-kafka clean run-kafka

run: setup build
	@scripts/run

# The Kafka profile: events through a local Apache Kafka (scripts/kafka) instead of the feed.
run-kafka: setup build
	@scripts/setup --kafka
	@scripts/run --kafka

test:
	@scripts/test

setup:
	@scripts/setup

# The benchmarks need wrk, sqlite3, jq, PostgreSQL and Java: the test packages.
setup-test:
	@scripts/setup --test

build:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan:
	@cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTHREADLY_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

unit: build
	@cd $(BUILD) && ctest -L unit --output-on-failure

check-format:
	@tools/check-format.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

check-layers:
	@tools/check-layers.sh

bench: setup-test build
	@bench/http_baseline.sh $(BUILD)

bench-timelines: setup-test build
	@bench/timelines.sh $(BUILD)

bench-kafka: setup-test build
	@bench/kafka_throughput.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
