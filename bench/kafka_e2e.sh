#!/usr/bin/env bash
# End-to-end latency through Kafka (issue #4: p99 under 100 ms through Kafka): from
# `POST /api/v1/statuses/:id/favourite` returning to the notification being visible over REST
# on notification-service, both services on --events-transport kafka (bench/kafka_e2e.py).
# Starts a single-node broker with scripts/kafka in a temporary folder, unless
# BENCH_KAFKA_BOOTSTRAP names one (a fresh topic prefix and group are used either way).
#
# Usage: bench/kafka_e2e.sh [BUILD_DIR]   (env: EVENTS (10000), BENCH_KAFKA_PORT (18092; the
# controller takes the next port), BENCH_KAFKA_BOOTSTRAP, KAFKA_HEAP, BENCH_TRANSPORT=feed for
# the embedded feed instead, to compare: goal p99 < 50 ms)
set -euo pipefail

BENCH_NAME=kafka_e2e
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

EVENTS=${EVENTS:-10000}
port=${BENCH_KAFKA_PORT:-18092}
for v in EVENTS port; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done
export THREADLY_CORE_BIN=$build_dir/services/threadly/threadly-service
export THREADLY_NOTIFICATION_BIN=$build_dir/services/notification/notification-service
for b in "$THREADLY_CORE_BIN" "$THREADLY_NOTIFICATION_BIN"; do
    [ -x "$b" ] || die "$b not found: build first (cmake --build $build_arg)"
done

bench_start kafka-e2e
bootstrap=${BENCH_KAFKA_BOOTSTRAP:-}
broker="given broker $bootstrap"
if [ -z "$bootstrap" ]; then
    for p in "$port" $((port + 1)); do
        port_in_use "$p" && die "port $p is in use (set BENCH_KAFKA_PORT)"
    done
    say "starting Apache Kafka on 127.0.0.1:$port (logs in $tmp/kafka)"
    bootstrap=$("$repo/scripts/kafka" start "$tmp/kafka" "$port" $((port + 1))) ||
        die "the broker did not start"
    pids+=("$(cat "$tmp/kafka/kafka.pid")")
    broker="own single-node broker"
fi
say "broker: real Apache Kafka ${THREADLY_KAFKA_VERSION:-4.4.0} at $bootstrap ($broker)"

out=$(BENCH_DATA_DIR=$tmp/data /usr/bin/python3 "$repo/bench/kafka_e2e.py" "$bootstrap" "$EVENTS" \
    2>"$tmp/bench.err") || {
    grep -v '^{' "$tmp/bench.err" | tail -n 20 >&2
    die "the run failed"
}
grep -v '^{' "$tmp/bench.err" >&2 || true
read -r _ n p50 p90 p99 max <<<"$(grep '^result:' <<<"$out")"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
if [ "$commit" != none ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+="-dirty"
fi
transport=${BENCH_TRANSPORT:-kafka}
limit=100 cmd="EVENTS=$EVENTS bench/kafka_e2e.sh $build_arg"
if [ "$transport" = feed ]; then
    limit=50 cmd="EVENTS=$EVENTS BENCH_TRANSPORT=feed bench/kafka_e2e.sh $build_arg"
fi
goal=missed
awk -v a="$p99" -v l="$limit" 'BEGIN { exit !(a < l) }' && goal=met
echo
echo "row for bench/RESULTS.md:"
# shellcheck disable=SC2016 # the backticks are markdown
printf '| %s | %s | `%s` | %s | %s | %s / %s / %s / %s | p99 < %s ms (to REST visibility): %s | %s |\n' \
    "$(date -u +%Y-%m-%d)" "$commit" "$cmd" "$transport" "$n" "$p50" "$p90" "$p99" "$max" \
    "$limit" "$goal" "$(nproc)"
ok=1
