#!/usr/bin/env bash
# Live notifications end to end (issue #4, embedded transport): the real threadly-service and
# notification-service (SQLite, the outbox feed), no gateway. (1) Latency: EVENTS times an
# actor favourites the listener's status; from the POST's response to the `notification` frame
# on the listener's WebSocket, p50/p99. (2) Fan-out: FOLLOWERS accounts really follow an author
# (signed up and following through the API) and each holds a WebSocket on its user stream; the
# author posts ROUNDS public statuses; time from the POST's response until every follower has
# the `update` frame. The client is bench/notify_load.c (C, one epoll thread), compiled here.
# Usage: bench/notify_latency.sh [BUILD_DIR]
#   env: EVENTS (10000) FOLLOWERS (10000) ROUNDS (5) BENCH_NOTIFY_PORT (26080; and the next)
#   TRANSPORT=kafka: both services on --events-transport kafka, through the broker at
#   BENCH_KAFKA_BOOTSTRAP, or one started with scripts/kafka on BENCH_KAFKA_PORT (18092; and the
#   next) in the temporary folder
set -euo pipefail

BENCH_NAME=notify_latency
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

EVENTS=${EVENTS:-10000}
FOLLOWERS=${FOLLOWERS:-10000}
ROUNDS=${ROUNDS:-5}
core_port=${BENCH_NOTIFY_PORT:-26080}
notif_port=$((core_port + 1))
core_bin=$build_dir/services/threadly/threadly-service
notif_bin=$build_dir/services/notification/notification-service

for v in EVENTS FOLLOWERS ROUNDS core_port; do
    [[ ${!v} =~ ^(0|[1-9][0-9]*)$ ]] || die "$v must be a whole number, not '${!v}'"
done
((EVENTS > 0 && ROUNDS > 0)) || die "EVENTS and ROUNDS must be positive"
[ -x "$core_bin" ] || die "$core_bin not found: build first, or pass BUILD_DIR"
[ -x "$notif_bin" ] || die "$notif_bin not found: build first, or pass BUILD_DIR"
for c in cc curl jq /usr/bin/python3; do
    command -v "$c" >/dev/null || die "$c not found"
done
for p in "$core_port" "$notif_port"; do
    ! port_in_use "$p" || die "port $p is already in use (set BENCH_NOTIFY_PORT)"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((FOLLOWERS + 256))
(($(ulimit -n) >= need)) || die "ulimit -n is $(ulimit -n); $need needed (raise the hard limit)"

bench_start notify_latency

TRANSPORT=${TRANSPORT:-feed}
core_transport=() notif_transport=(--events-url "http://127.0.0.1:$core_port/internal/v1/events")
case $TRANSPORT in
feed) ;;
kafka)
    bootstrap=${BENCH_KAFKA_BOOTSTRAP:-}
    if [ -z "$bootstrap" ]; then
        kport=${BENCH_KAFKA_PORT:-18092}
        say "starting Apache Kafka on 127.0.0.1:$kport (logs in $tmp/kafka)"
        bootstrap=$("$repo/scripts/kafka" start "$tmp/kafka" "$kport" $((kport + 1))) ||
            die "the broker did not start"
        pids+=("$(cat "$tmp/kafka/kafka.pid")")
    fi
    prefix="bench$$."
    say "events through Apache Kafka at $bootstrap (topic prefix $prefix)"
    core_transport=(--events-transport kafka --kafka-bootstrap "$bootstrap" --kafka-topic-prefix "$prefix")
    notif_transport=("${core_transport[@]}" --kafka-group "${prefix}notification-service")
    ;;
*) die "TRANSPORT must be feed or kafka, not '$TRANSPORT'" ;;
esac

cc -O2 -o "$tmp/notify_load" "$repo/bench/notify_load.c" || die "cannot compile notify_load.c"

# Access logs off; cheap password hashing and no sign-up limit (the seeding signs up FOLLOWERS
# accounts); the heartbeat beyond the run (the client does not answer pings).
"$core_bin" --port "$core_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    --argon2-ops 1 --argon2-mem-kib 8 --signup-limit 1000000 --login-limit 1000000 \
    --public-url "http://127.0.0.1:$core_port" "${core_transport[@]}" 2>"$tmp/core.log" &
pids+=($!)
core_pid=$!
wait_http "$core_pid" threadly-service "http://127.0.0.1:$core_port/health" "$tmp/core.log"
"$notif_bin" --port "$notif_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    "${notif_transport[@]}" \
    --stream-max-connections $((FOLLOWERS + 100)) --stream-heartbeat-ms 3600000 \
    2>"$tmp/notif.log" &
pids+=($!)
notif_pid=$!
wait_http "$notif_pid" notification-service "http://127.0.0.1:$notif_port/health" "$tmp/notif.log"

# ---- seeding through the API: listener, actor, author, FOLLOWERS followers ----
say "signing up 3 + $FOLLOWERS accounts; the followers follow the author (API, 4 connections)"
t_seed=$SECONDS
/usr/bin/python3 - "$core_port" "$FOLLOWERS" "$tmp" <<'PY' || die "seeding failed"
import http.client, json, sys, threading, urllib.parse
port, followers, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def req(c, method, path, token=None, form=None):
    body = urllib.parse.urlencode(form) if form else None
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("%s %s: %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data)

c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
app = req(c, "POST", "/api/v1/apps", form={"client_name": "bench", "scopes": "read write follow",
                                            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
app_tok = req(c, "POST", "/oauth/token", form={
    "grant_type": "client_credentials", "client_id": app["client_id"],
    "client_secret": app["client_secret"], "scope": "write"})["access_token"]

def signup(c, name):
    tok = req(c, "POST", "/api/v1/accounts", app_tok, {
        "username": name, "email": name + "@example.org", "password": "correct horse battery",
        "agreement": "true", "locale": "en"})["access_token"]
    return tok

named = {n: signup(c, n) for n in ("listener", "actor", "author")}
author_id = req(c, "GET", "/api/v1/accounts/verify_credentials", named["author"])["id"]
status = req(c, "POST", "/api/v1/statuses", named["listener"], {"status": "favourite me"})["id"]
tokens = [None] * followers

def worker(k):
    wc = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(k, followers, 4):
        t = signup(wc, "f%d" % i)
        req(wc, "POST", "/api/v1/accounts/%s/follow" % author_id, t)
        tokens[i] = t

ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if any(t is None for t in tokens):
    raise SystemExit("some followers were not made")
with open(out + "/seed.json", "w") as f:
    json.dump({"tokens": named, "status": status, "author_id": author_id}, f)
with open(out + "/followers.txt", "w") as f:
    f.write("\n".join(tokens) + "\n")
PY
say "seeded in $((SECONDS - t_seed)) s"
tok() { jq -r ".tokens.$1" "$tmp/seed.json"; }

# notification-service has the follower set once it has consumed every follow (through Kafka:
# once the relay has published everything, and the consumer has caught up twice in a row).
deadline=$((SECONDS + 120))
caught=0
while ((SECONDS < deadline)); do
    relay_lag=0
    if [ "$TRANSPORT" = kafka ]; then
        relay_lag=$(curl -fs "http://127.0.0.1:$core_port/metrics" |
            awk '$1 == "threadly_outbox_relay_lag_events" { print $2 }')
    fi
    lag=$(curl -fs "http://127.0.0.1:$notif_port/metrics" |
        awk '$1 == "notification_consumer_lag_events" { print $2 }')
    if [ "$relay_lag" = 0 ] && [ "$lag" = 0 ]; then
        caught=$((caught + 1))
        { [ "$TRANSPORT" = feed ] || ((caught >= 2)); } && break
    else
        caught=0
    fi
    sleep 0.5
done
[ "$lag" = 0 ] || die "notification-service did not catch up (lag $lag)"

say "latency: $EVENTS favourites, each timed to its notification frame"
"$tmp/notify_load" latency "$core_port" "$notif_port" "$(tok listener)" "$(tok actor)" \
    "$(jq -r .status "$tmp/seed.json")" "$EVENTS" >"$tmp/latency.out" ||
    { cat "$tmp/latency.out" >&2; die "latency client failed"; }
cat "$tmp/latency.out" >&2

fan=skipped
if ((FOLLOWERS > 0)); then
    say "fan-out: $FOLLOWERS follower WebSockets, $ROUNDS public statuses"
    "$tmp/notify_load" fanout "$core_port" "$notif_port" "$tmp/followers.txt" "$(tok author)" \
        "$ROUNDS" >"$tmp/fanout.out" || { cat "$tmp/fanout.out" >&2; die "fan-out client failed"; }
    cat "$tmp/fanout.out" >&2
fi
val() { awk -F= -v k="$1" '$1 == k { print $2 }' "$2"; }
rounds=()
for ((r = 0; r < ROUNDS; r++)); do
    rounds+=("$(val "round_${r}_ms" "$tmp/fanout.out" 2>/dev/null)")
done
notif_rss=$(rss_mb "$notif_pid")
kill -0 "$notif_pid" 2>/dev/null || die "notification-service died; see $tmp/notif.log"
kill -0 "$core_pid" 2>/dev/null || die "threadly-service died; see $tmp/core.log"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
cmd="EVENTS=$EVENTS FOLLOWERS=$FOLLOWERS ROUNDS=$ROUNDS bench/notify_latency.sh ${build_arg}"
[ "$TRANSPORT" = feed ] || cmd="TRANSPORT=$TRANSPORT $cmd"
l=$tmp/latency.out
f=$tmp/fanout.out
if ((FOLLOWERS > 0)); then
    fan="$(val fanout_median_ms "$f") ($(join "${rounds[@]}")) | $(val fanout_max_ms "$f") | $(val connect_seconds "$f")"
else
    fan="- | - | -"
fi
echo "| $(date -u +%F) | $commit | \`$cmd\` | $(val events "$l") | $(val p50_ms "$l") | $(val p99_ms "$l") | $(val max_ms "$l") | $FOLLOWERS | $fan | $notif_rss | $(nproc) |"
ok=1
