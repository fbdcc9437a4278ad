#!/usr/bin/env bash
# Mail: (1) throughput of the SMTP adapter to the local sink (aiosmtpd via scripts/smtp-sink,
# writing a Maildir), COUNT mails composed from the real templates and sent over one reused
# connection by tests/mail/mail_send (ROUNDS rounds, median); (2) the delay from the event to
# the mail accepted by the sink: SIGNUPS sign-ups at RATE per second through threadly-service,
# each one's account.created consumed by notification-service and mailed as a confirmation;
# delay = the Maildir file's mtime - the time the sign-up answered (p50, p99, max).
# Usage: bench/mail.sh [BUILD_DIR]   (env: COUNT ROUNDS SIGNUPS RATE BENCH_MAIL_PORT)
set -euo pipefail

BENCH_NAME=mail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

COUNT=${COUNT:-2000}
ROUNDS=${ROUNDS:-3}
SIGNUPS=${SIGNUPS:-200}
RATE=${RATE:-20}
port=${BENCH_MAIL_PORT:-25050}
core_port=$((port + 1))
notif_port=$((port + 2))
send=$build_dir/tests/mail_send
core=$build_dir/services/threadly/threadly-service
notif=$build_dir/services/notification/notification-service

for v in COUNT ROUNDS SIGNUPS RATE port; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done
for b in "$send" "$core" "$notif"; do
    [ -x "$b" ] || die "$b not found: build first, or pass BUILD_DIR"
done
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || die "aiosmtpd missing (scripts/setup --test)"
for p in "$port" "$core_port" "$notif_port"; do
    ! port_in_use "$p" || die "port $p is already in use (set BENCH_MAIL_PORT)"
done

bench_start mail
maildir=$tmp/Maildir
on_exit+=("'$repo/scripts/smtp-sink' stop '$maildir'")
"$repo/scripts/smtp-sink" start "$port" "$maildir"

# ---- (1) throughput, one connection ----
rates=()
for ((r = 1; r <= ROUNDS; r++)); do
    out=$("$send" "smtp://127.0.0.1:$port" "Threadly <noreply@threadly.test>" follow "$COUNT" \
        a@example.org b@example.org c@example.org | tail -n 1)
    sent=$(echo "$out" | sed -E 's/.*"sent":([0-9]+).*/\1/')
    ms=$(echo "$out" | sed -E 's/.*"ms":([0-9]+).*/\1/')
    connects=$(echo "$out" | sed -E 's/.*"connects":([0-9]+).*/\1/')
    ((sent == COUNT)) || die "round $r: $out"
    rates+=("$(awk -v n="$sent" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / (ms ? ms : 1) }')")
    say "mail: round $r: $sent mails in $ms ms over $connects connection(s)"
done
rate=$(median "${rates[@]}")

# ---- (2) event -> accepted by the sink ----
rm -rf "$maildir"
"$repo/scripts/smtp-sink" stop "$maildir"
"$repo/scripts/smtp-sink" start "$port" "$maildir"
"$core" --port "$core_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    --argon2-ops 1 --argon2-mem-kib 8 --signup-limit 1000000 \
    --require-email-confirmation false 2>"$tmp/core.log" &
pids+=($!)
wait_http "$!" threadly-service "http://127.0.0.1:$core_port/health" "$tmp/core.log"
"$notif" --port "$notif_port" --data-dir "$tmp/data" --access-log=false --log-level warn \
    --events-url "http://127.0.0.1:$core_port/internal/v1/events" \
    --smtp-url "smtp://127.0.0.1:$port" --smtp-from "Threadly <noreply@threadly.test>" \
    2>"$tmp/notif.log" &
pids+=($!)
wait_http "$!" notification-service "http://127.0.0.1:$notif_port/health" "$tmp/notif.log"

say "mail: $SIGNUPS sign-ups at $RATE/s, each mailed a confirmation"
delays=$(/usr/bin/python3 - "$core_port" "$maildir" "$SIGNUPS" "$RATE" <<'PY'
import email, email.policy, http.client, json, mailbox, os, sys, time, urllib.parse
port, maildir, n, rate = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def call(method, path, body, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body, headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)
form = {"Content-Type": "application/x-www-form-urlencoded"}
s, app = call("POST", "/api/v1/apps", urllib.parse.urlencode({
    "client_name": "bench", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}),
    form)
s, tok = call("POST", "/oauth/token", urllib.parse.urlencode({
    "grant_type": "client_credentials", "client_id": app["client_id"],
    "client_secret": app["client_secret"], "scope": "read write"}), form)
auth = dict(form, Authorization="Bearer " + tok["access_token"])
answered = {}
start = time.time()
for i in range(n):
    time.sleep(max(0, start + i / rate - time.time()))
    s, j = call("POST", "/api/v1/accounts", urllib.parse.urlencode({
        "username": "bench%d" % i, "email": "bench%d@example.org" % i,
        "password": "long password", "agreement": "1"}), auth)
    assert s == 200, j
    answered["bench%d@example.org" % i] = time.time()
deadline = time.time() + 60
seen = {}
while time.time() < deadline and len(seen) < n:
    md = mailbox.Maildir(maildir, factory=None, create=False)
    for key in md.keys():
        path = os.path.join(maildir, "new", key)
        if key in seen or not os.path.exists(path):
            continue
        m = email.message_from_bytes(md.get_bytes(key), policy=email.policy.default)
        seen[key] = (m["To"].addresses[0].addr_spec, os.stat(path).st_mtime)
    time.sleep(0.2)
to = [a for a, _ in seen.values()]
assert len(to) == n and len(set(to)) == n, "%d mails for %d sign-ups" % (len(to), n)
d = sorted(max(0.0, t - answered[a]) * 1000 for a, t in seen.values())
print("%.0f %.0f %.0f" % (d[len(d) // 2], d[min(len(d) - 1, int(len(d) * 0.99))], d[-1]))
PY
) || die "delay measurement failed"
read -r p50 p99 max <<<"$delays"

ok=1
say "mail: throughput $rate mails/s (rounds: $(join "${rates[@]}")), one connection; event -> accepted p50 $p50 ms, p99 $p99 ms, max $max ms"
echo "| $(date -u +%F) | $(git -C "$repo" rev-parse --short HEAD) | \`COUNT=$COUNT ROUNDS=$ROUNDS SIGNUPS=$SIGNUPS RATE=$RATE bench/mail.sh\` | $rate ($(join "${rates[@]}")) | $p50 | $p99 | $max | $(nproc) |"
