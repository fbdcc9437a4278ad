#!/usr/bin/env bash
# Sustained event consumption by notification-service (issue #4: "at least 10,000 events/s
# through Kafka"). The real threadly-service and notification-service on SQLite. Seeding: two
# accounts through the API, one status, one favourite of it; then, with threadly-service
# stopped, its outbox row of that favourite.created is copied EVENTS times in one SQLite
# transaction (new event ids and seqs, the same payload), as if EVENTS favourites had been
# committed while nobody consumed. threadly-service starts again and (TRANSPORT=kafka) its relay
# publishes the backlog to the broker; only then notification-service starts on an empty
# database and drains it: every event decoded, turned into a notification, stored with its
# dedupe row and the cursor or offset commit. The rate is the events counted by
# notification_events_consumed_total between the first and the last sample that moved, over
# that time (sampled every 0.1 s), so start-up and the group join are not counted; the CPU per
# event is notification-service's utime+stime (/proc/PID/stat) over the same samples.
# Usage: bench/notify_consume.sh [BUILD_DIR]
#   env: EVENTS (100000) TRANSPORT (kafka | feed) BENCH_CONSUME_PORT (26180; and the next)
#   NOTIF_ARGS (extra notification-service flags, e.g. "--events-batch 1000")
#   BENCH_PERF (a file: `perf record -g` of notification-service while it drains, written there)
#   BENCH_KAFKA_BOOTSTRAP, or a broker started with scripts/kafka on BENCH_KAFKA_PORT (18094;
#   and the next) in the temporary folder
set -euo pipefail

BENCH_NAME=notify_consume
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

EVENTS=${EVENTS:-100000}
TRANSPORT=${TRANSPORT:-kafka}
core_port=${BENCH_CONSUME_PORT:-26180}
notif_port=$((core_port + 1))
core_bin=$build_dir/services/threadly/threadly-service
notif_bin=$build_dir/services/notification/notification-service
for v in EVENTS core_port; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done
((EVENTS <= 10000000)) || die "EVENTS must be at most 10,000,000"
[ -x "$core_bin" ] && [ -x "$notif_bin" ] || die "build first (or pass BUILD_DIR)"
for c in curl sqlite3 jq; do
    command -v "$c" >/dev/null || die "$c not found in PATH"
done
for p in "$core_port" "$notif_port"; do
    ! port_in_use "$p" || die "port $p is in use (set BENCH_CONSUME_PORT)"
done

bench_start notify_consume

core_transport=() notif_transport=(--events-url "http://127.0.0.1:$core_port/internal/v1/events")
case $TRANSPORT in
feed) ;;
kafka)
    bootstrap=${BENCH_KAFKA_BOOTSTRAP:-}
    if [ -z "$bootstrap" ]; then
        kport=${BENCH_KAFKA_PORT:-18094}
        ! port_in_use "$kport" || die "port $kport is in use (set BENCH_KAFKA_PORT)"
        say "starting Apache Kafka on 127.0.0.1:$kport (logs in $tmp/kafka)"
        bootstrap=$("$repo/scripts/kafka" start "$tmp/kafka" "$kport" $((kport + 1))) ||
            die "the broker did not start"
        on_exit+=("'$repo/scripts/kafka' stop '$tmp/kafka' >/dev/null 2>&1")
    fi
    prefix="consume$$."
    core_transport=(--events-transport kafka --kafka-bootstrap "$bootstrap" --kafka-topic-prefix "$prefix")
    notif_transport=("${core_transport[@]}" --kafka-group "${prefix}notification-service")
    ;;
*) die "TRANSPORT must be feed or kafka, not '$TRANSPORT'" ;;
esac

start_core() {
    "$core_bin" --port "$core_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
        --argon2-ops 1 --argon2-mem-kib 8 --public-url "http://127.0.0.1:$core_port" \
        "${core_transport[@]}" 2>>"$tmp/core.log" &
    core_pid=$!
    pids+=("$core_pid")
    wait_http "$core_pid" threadly-service "http://127.0.0.1:$core_port/health" "$tmp/core.log"
}

metric() { # URL NAME: the value of an unlabelled series, empty if absent
    curl -fs --max-time 5 "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

start_core
/usr/bin/python3 - "$core_port" <<'PY' || die "seeding through the API failed"
import http.client, json, sys, urllib.parse
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
def req(method, path, token=None, form=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=urllib.parse.urlencode(form) if form else None, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("%s %s: %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data)
app = req("POST", "/api/v1/apps", form={"client_name": "bench", "scopes": "read write",
                                        "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
app_tok = req("POST", "/oauth/token", form={"grant_type": "client_credentials",
    "client_id": app["client_id"], "client_secret": app["client_secret"],
    "scope": "write"})["access_token"]
tok = {n: req("POST", "/api/v1/accounts", app_tok, {"username": n, "email": n + "@example.org",
           "password": "correct horse battery", "agreement": "true"})["access_token"]
       for n in ("listener", "actor")}
s = req("POST", "/api/v1/statuses", tok["listener"], {"status": "favourite me"})
req("POST", "/api/v1/statuses/%s/favourite" % s["id"], tok["actor"])
PY
kill -TERM "$core_pid"
wait "$core_pid" || die "threadly-service did not stop cleanly"

db=$tmp/data/threadly/threadly.db
t0=$SECONDS
sqlite3 "$db" <<SQL || die "copying the outbox row failed"
.bail on
BEGIN IMMEDIATE;
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $EVENTS),
base AS (SELECT (SELECT max(seq) FROM outbox) AS seq, (SELECT max(id) FROM outbox) AS id),
fav AS (SELECT * FROM outbox WHERE type = 'favourite.created' ORDER BY seq LIMIT 1)
INSERT INTO outbox (seq, id, type, key, version, occurred_at_ms, data, sent_at_ms)
SELECT base.seq + n, base.id + n, fav.type, fav.key, fav.version, fav.occurred_at_ms, fav.data, 0
FROM k, base, fav;
COMMIT;
SQL
total=$(sqlite3 "$db" "SELECT count(*) FROM outbox")
say "outbox: $total events ($EVENTS copies of one favourite.created) in $((SECONDS - t0)) s"
((total == EVENTS + 4)) || die "expected $((EVENTS + 4)) outbox rows, found $total"

start_core
core_url=http://127.0.0.1:$core_port
if [ "$TRANSPORT" = kafka ]; then
    t_relay=$(date +%s%3N)
    deadline=$((SECONDS + 600))
    until [ "$(metric "$core_url" threadly_outbox_relay_lag_events)" = 0 ]; do
        ((SECONDS < deadline)) || die "the relay did not publish the backlog in 600 s"
        sleep 0.2
    done
    say "relay published $total events in $(($(date +%s%3N) - t_relay)) ms"
fi

"$notif_bin" --port "$notif_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    "${notif_transport[@]}" ${NOTIF_ARGS:-} 2>"$tmp/notif.log" &
notif_pid=$!
pids+=("$notif_pid")
notif_url=http://127.0.0.1:$notif_port
wait_http "$notif_pid" notification-service "$notif_url/health" "$tmp/notif.log"

cpu_ticks() { # PID: utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

if [ -n "${BENCH_PERF:-}" ]; then
    command -v perf >/dev/null || die "perf not found in PATH (scripts/setup --test installs it)"
    perf record -q -g -o "$BENCH_PERF" -p "$notif_pid" 2>"$tmp/perf.log" &
    perf_pid=$!
    pids+=("$perf_pid")
fi

# Samples "ms count cpu-ticks" until every event is consumed.
samples=$tmp/samples.txt
: >"$samples"
deadline=$((SECONDS + 900))
while :; do
    n=$(metric "$notif_url" notification_events_consumed_total)
    echo "$(date +%s%3N) ${n:-0} $(cpu_ticks "$notif_pid")" >>"$samples"
    [ "${n:-0}" -ge "$total" ] 2>/dev/null && break
    ((SECONDS < deadline)) || die "notification-service consumed ${n:-0} of $total in 900 s"
    kill -0 "$notif_pid" 2>/dev/null || die "notification-service died (see $tmp/notif.log)"
    sleep 0.1
done
if [ -n "${BENCH_PERF:-}" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    say "perf profile in $BENCH_PERF"
fi
read -r t_first n_first c_first < <(awk '$2 > 0 { print; exit }' "$samples")
read -r t_last n_last c_last < <(tail -n 1 "$samples")
ms=$((t_last - t_first))
((ms > 0)) || die "too few samples; raise EVENTS"
rate=$(awk -v n=$((n_last - n_first)) -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')
# CPU time notification-service spent (all its threads) per event over the same samples.
cpu_us=$(awk -v n=$((n_last - n_first)) -v t=$((c_last - c_first)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
notifs=$(sqlite3 "$tmp/data/notification/notification.db" "SELECT count(*) FROM notifications")
rss=$(rss_mb "$notif_pid")
dead=$(metric "$notif_url" notification_events_dead_lettered_total)
echo "consumed $n_last events ($((n_last - n_first)) between the first and the last moving sample," \
    "$ms ms): $rate events/s; $notifs notifications stored; ${dead:-0} dead-lettered;" \
    "notification-service RSS $rss MB, CPU $cpu_us us/event; transport $TRANSPORT; $(nproc) CPUs"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
goal=$(awk -v r="$rate" 'BEGIN { print (r >= 10000) ? "met" : "missed" }')
cmd="EVENTS=$EVENTS TRANSPORT=$TRANSPORT${NOTIF_ARGS:+ NOTIF_ARGS='$NOTIF_ARGS'} bench/notify_consume.sh"
echo "row: | $(date -u +%Y-%m-%d) | $commit | \`$cmd\` |" \
    "$rate | $cpu_us | $notifs | ${dead:-0} | $rss | >= 10000 events/s: $goal | $(nproc) |"
ok=1
