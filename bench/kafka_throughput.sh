#!/usr/bin/env bash
# Event throughput through a real Apache Kafka broker (issue #4: at least 10,000 events/s
# consumed). Starts a single-node broker with scripts/kafka in a temporary folder, then runs
# build/bench/kafka_bench ROUNDS times: a relay-like producer publishes EVENTS envelopes
# (about DATA_BYTES of data each) in batches of BATCH, waiting for every ack before the next
# batch, while a group consumer polls, parses every envelope and commits after each batch;
# then a second group reads the whole backlog again. Reports medians and the rounds.
#
# Usage: bench/kafka_throughput.sh [BUILD_DIR]   (env: EVENTS BATCH DATA_BYTES ROUNDS
# BENCH_KAFKA_PORT (18092; the controller takes the next port), KAFKA_HEAP)
set -euo pipefail

BENCH_NAME=kafka_throughput
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

EVENTS=${EVENTS:-200000}
BATCH=${BATCH:-500}
DATA_BYTES=${DATA_BYTES:-800}
ROUNDS=${ROUNDS:-3}
port=${BENCH_KAFKA_PORT:-18092}
for v in EVENTS BATCH DATA_BYTES ROUNDS port; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done
bench_bin=$build_dir/bench/kafka_bench
[ -x "$bench_bin" ] || die "$bench_bin not found: build first (cmake --build $build_arg)"
for p in "$port" $((port + 1)); do
    port_in_use "$p" && die "port $p is in use (set BENCH_KAFKA_PORT)"
done

bench_start kafka
say "starting Apache Kafka on 127.0.0.1:$port (logs in $tmp/kafka)"
bootstrap=$("$repo/scripts/kafka" start "$tmp/kafka" "$port" $((port + 1))) ||
    die "the broker did not start"
pids+=("$(cat "$tmp/kafka/kafka.pid")")
broker_pid=${pids[-1]}
say "broker: real Apache Kafka ${THREADLY_KAFKA_VERSION:-4.4.0} at $bootstrap, RSS $(rss_mb "$broker_pid") MB"

produced=() live=() replay=() p50=() p99=()
for ((r = 1; r <= ROUNDS; r++)); do
    out=$("$bench_bin" "$bootstrap" "$EVENTS" "$BATCH" "$DATA_BYTES" 2>"$tmp/round$r.err") || {
        tail -n 20 "$tmp/round$r.err" >&2
        die "round $r failed"
    }
    grep -v '^result:' <<<"$out" | sed "s/^/round $r: /" >&2
    read -r _ a b c d e <<<"$(grep '^result:' <<<"$out")"
    produced+=("$a") live+=("$b") replay+=("$c") p50+=("$d") p99+=("$e")
done
rss_broker=$(rss_mb "$broker_pid")

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
if [ "$commit" != none ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+="-dirty"
fi
cmd="EVENTS=$EVENTS BATCH=$BATCH DATA_BYTES=$DATA_BYTES ROUNDS=$ROUNDS bench/kafka_throughput.sh $build_arg"
live_med=$(median "${live[@]}")
replay_med=$(median "${replay[@]}")
goal="missed"
if awk -v a="$live_med" -v b="$replay_med" 'BEGIN { exit !(a >= 10000 && b >= 10000) }'; then
    goal="met"
fi
echo
echo "row for bench/RESULTS.md:"
# shellcheck disable=SC2016 # the backticks are markdown
printf '| %s | %s | `%s` | %s (%s) | %s (%s) | %s (%s) | %s / %s | %s | >= 10000 events/s consumed: %s | %s |\n' \
    "$(date -u +%Y-%m-%d)" "$commit" "$cmd" \
    "$(median "${produced[@]}")" "$(join "${produced[@]}")" \
    "$live_med" "$(join "${live[@]}")" "$replay_med" "$(join "${replay[@]}")" \
    "$(median "${p50[@]}")" "$(median "${p99[@]}")" "$rss_broker" "$goal" "$(nproc)"
ok=1
