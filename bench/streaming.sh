#!/usr/bin/env bash
# Streaming: CONNECTIONS WebSocket connections held by lib/http's streaming hub (in the
# stream_testd test server, public stream, no auth), the server's RSS idle and with them held,
# and the time one publish takes to reach all of them (ROUNDS publishes, median). The load
# client is bench/stream_load.c (C, one epoll thread), compiled here.
# Usage: bench/streaming.sh [BUILD_DIR]   (env: CONNECTIONS ROUNDS PAYLOAD BENCH_STREAM_PORT)
set -euo pipefail

BENCH_NAME=streaming
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

CONNECTIONS=${CONNECTIONS:-10000}
ROUNDS=${ROUNDS:-5}
PAYLOAD=${PAYLOAD:-2000}
port=${BENCH_STREAM_PORT:-23080}
testd=$build_dir/tests/stream_testd

for v in CONNECTIONS ROUNDS PAYLOAD port; do
    [[ ${!v} =~ ^(0|[1-9][0-9]*)$ ]] || die "$v must be a whole number, not '${!v}'"
done
((CONNECTIONS > 0 && ROUNDS > 0)) || die "CONNECTIONS and ROUNDS must be positive"
[ -x "$testd" ] || die "$testd not found: build first, or pass BUILD_DIR"
for c in cc curl; do
    command -v "$c" >/dev/null || die "$c not found in PATH"
done
! port_in_use "$port" || die "port $port is already in use (set BENCH_STREAM_PORT)"

# Both the server and the client hold one descriptor per connection (plus a few).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((CONNECTIONS + 256))
(($(ulimit -n) >= need)) || die "ulimit -n is $(ulimit -n); $need needed (raise the hard limit)"

bench_start streaming

cc -O2 -o "$tmp/stream_load" "$repo/bench/stream_load.c" || die "cannot compile stream_load.c"

# The heartbeat is set far beyond the run: the client does not answer pings.
"$testd" --port "$port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    --stream-max-connections $((CONNECTIONS + 100)) --stream-heartbeat-ms 3600000 \
    2>"$tmp/testd.log" &
pids+=($!)
testd_pid=$!
wait_http "$testd_pid" stream_testd "http://127.0.0.1:$port/api/v1/streaming/health" "$tmp/testd.log"
sleep 0.5
rss_idle=$(rss_mb "$testd_pid")

say "streaming: opening $CONNECTIONS WebSocket connections, then $ROUNDS fan-outs of ${PAYLOAD}-byte payloads"
"$tmp/stream_load" "$port" "$testd_pid" "$CONNECTIONS" "$ROUNDS" "$PAYLOAD" >"$tmp/load.out" ||
    { cat "$tmp/load.out" >&2; die "load client failed"; }
cat "$tmp/load.out" >&2
val() { awk -F= -v k="$1" '$1 == k { print $2 }' "$tmp/load.out"; }
rounds=()
for ((r = 0; r < ROUNDS; r++)); do
    rounds+=("$(val "round_${r}_ms")")
done
held=$(val rss_held_mb)
per_conn_kb=$(awk -v h="$held" -v i="$rss_idle" -v n="$CONNECTIONS" 'BEGIN { printf "%.1f", (h - i) * 1024 / n }')
kill -0 "$testd_pid" 2>/dev/null || die "stream_testd died; see $tmp/testd.log"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
cmd="CONNECTIONS=$CONNECTIONS ROUNDS=$ROUNDS PAYLOAD=$PAYLOAD bench/streaming.sh ${build_arg}"
echo "| $(date -u +%F) | $commit | \`$cmd\` | $(val connected) | $(val connect_seconds) | $rss_idle | $held | $per_conn_kb | $(val fanout_median_ms) ($(join "${rounds[@]}")) | $(val fanout_max_ms) | $(val rss_after_mb) | $(nproc) |"
ok=1
