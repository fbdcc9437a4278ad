#!/usr/bin/env bash
# tests/kafka/run.sh TEST_BINARY [ARGS...] - runs the Kafka integration test against a real
# Apache Kafka: the one at TEST_KAFKA_BOOTSTRAP (scripts/test starts one for the whole run), or
# one it starts itself with scripts/kafka on THREADLY_TEST_KAFKA_PORT (24092) and the port after
# it (controller), stopped at exit. If that broker cannot start (no Java, download refused, port
# taken), the test runs on librdkafka's mock cluster and says so; with TEST_REQUIRE naming kafka
# that is a failure instead. THREADLY_TEST_KAFKA=mock forces the mock cluster;
# THREADLY_TEST_KAFKA_START=0 (scripts/test, when its own start failed) skips the attempt.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

if [ "${THREADLY_TEST_KAFKA:-}" != "mock" ] && [ -z "${TEST_KAFKA_BOOTSTRAP:-}" ] &&
    [ "${THREADLY_TEST_KAFKA_START:-1}" != 0 ]; then
    port=${THREADLY_TEST_KAFKA_PORT:-24092}
    dir=$(mktemp -d /tmp/threadly-test-kafka.XXXXXX)
    if bootstrap=$("$root/scripts/kafka" start "$dir" "$port" $((port + 1))); then
        trap '"$root/scripts/kafka" stop "$dir"; rm -rf "$dir"' EXIT
        export TEST_KAFKA_BOOTSTRAP=$bootstrap
        export TEST_KAFKA_VERSION=${THREADLY_KAFKA_VERSION:-4.4.0}
    else
        rm -rf "$dir"
        echo "tests/kafka/run.sh: the real Apache Kafka broker did not start (reason above)"
        if [ -n "${CI:-}" ]; then
            echo "WARNING (CI): falling back to librdkafka's mock cluster; the real broker is untested"
        fi
    fi
fi
"$@"
