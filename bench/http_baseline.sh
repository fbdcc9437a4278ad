#!/usr/bin/env bash
# HTTP baseline: wrk against threadly-service's GET /api/v1/instance and against nginx serving
# the same body as a static file, alternating, in one command; plus idle RSS of both services.
# Usage: bench/http_baseline.sh [BUILD_DIR]   (env: DURATION ROUNDS WARMUP BENCH_*_PORT,
# BENCH_CORE_ARGS, WRK_THREADS, WRK_CONNECTIONS)
set -euo pipefail

BENCH_NAME=http_baseline
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
core_port=${BENCH_CORE_PORT:-18080}
nginx_port=${BENCH_NGINX_PORT:-18090}
notif_port=${BENCH_NOTIF_PORT:-19080}
path=/api/v1/instance
# Extra threadly-service flags. By default its per-request log is off, like the reference's
# `access_log off` (and a 30 s run at 50k req/s would write ~400 MB of log).
default_core_args=--access-log=false
core_args=${BENCH_CORE_ARGS-$default_core_args}

core_bin=$build_dir/services/threadly/threadly-service
notif_bin=$build_dir/services/notification/notification-service

for v in DURATION ROUNDS WARMUP WRK_THREADS WRK_CONNECTIONS core_port nginx_port notif_port; do
    [[ ${!v} =~ ^(0|[1-9][0-9]*)$ ]] || die "$v must be a whole number, not '${!v}'"
done
((ROUNDS > 0 && DURATION > 0)) || die "ROUNDS and DURATION must be positive"
[ -x "$core_bin" ] || die "$core_bin not found: build first, or pass BUILD_DIR"
[ -x "$notif_bin" ] || die "$notif_bin not found: build first, or pass BUILD_DIR"
for c in wrk nginx curl; do
    command -v "$c" >/dev/null || die "$c not found in PATH"
done

for p in "$core_port" "$nginx_port" "$notif_port"; do
    ! port_in_use "$p" || die "port $p is already in use (set BENCH_CORE_PORT, BENCH_NGINX_PORT, BENCH_NOTIF_PORT)"
done

bench_start bench

# wait_http PID NAME URL LOG: waits up to 20 s for URL to answer 2xx while PID lives.

# rss_mb PID: resident set size in MB, one decimal.

# ---- start the services ----

# --data-dir is a root folder; each service uses its own subfolder of it.
# shellcheck disable=SC2086 # BENCH_CORE_ARGS is a list of flags
"$core_bin" --bind 127.0.0.1 --port "$core_port" --data-dir "$tmp" \
    --public-url "http://127.0.0.1:$core_port" $core_args 2>"$tmp/threadly.log" >&2 &
core_pid=$!
pids+=("$core_pid")
"$notif_bin" --bind 127.0.0.1 --port "$notif_port" --data-dir "$tmp" \
    2>"$tmp/notification.log" >&2 &
notif_pid=$!
pids+=("$notif_pid")
wait_http "$core_pid" threadly-service "http://127.0.0.1:$core_port/health" "$tmp/threadly.log"
wait_http "$notif_pid" notification-service "http://127.0.0.1:$notif_port/health" \
    "$tmp/notification.log"
sleep 1
rss_core_idle=$(rss_mb "$core_pid")
rss_notif_idle=$(rss_mb "$notif_pid")

# ---- the static reference: nginx serving the body threadly-service returns ----

ref=$tmp/nginx
mkdir -p "$ref"
curl -fsS --max-time 5 -o "$ref/instance.json" "http://127.0.0.1:$core_port$path" ||
    die "GET $path on threadly-service failed"
[ -s "$ref/instance.json" ] || die "GET $path on threadly-service returned an empty body"
"$repo/scripts/render-gateway" "$repo/deploy/nginx/static-reference.conf.template" "$ref" \
    "127.0.0.1:$nginx_port" - -
# As root the nginx workers run as nobody: let them reach the file in the 0700 mktemp dir.
chmod 755 "$tmp"
chmod 644 "$ref/instance.json"
nginx -p "$ref/" -c "$ref/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.stderr" &
nginx_pid=$!
pids+=("$nginx_pid")
wait_http "$nginx_pid" nginx "http://127.0.0.1:$nginx_port$path" "$ref/error.log"

core_url=http://127.0.0.1:$core_port$path
nginx_url=http://127.0.0.1:$nginx_port$path
describe() {
    curl -sS -o /dev/null --max-time 5 -w '%{http_code}, %{size_download} bytes, %{content_type}' "$1"
}
echo "threadly-service $core_url -> $(describe "$core_url")"
echo "nginx static     $nginx_url -> $(describe "$nginx_url")"
echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${DURATION}s --latency, $ROUNDS rounds each, alternating;" \
    "$(nproc) CPUs, $(uname -sr)"

# ---- load ----

# run_wrk URL SECONDS: prints "REQ_PER_S P99_MS NON2XX SOCKET_ERRORS" for one wrk run.
run_wrk() {
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$2"s --latency "$1" | awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v + 0
        }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
        END {
            if (rps == "") exit 1
            printf "%.0f %.2f %d %d\n", rps, p99, non2xx, errs
        }'
}

if ((WARMUP > 0)); then
    run_wrk "$core_url" "$WARMUP" >/dev/null || die "wrk warm-up against threadly-service failed"
    run_wrk "$nginx_url" "$WARMUP" >/dev/null || die "wrk warm-up against nginx failed"
fi

core_rps=() core_p99=() nginx_rps=() nginx_p99=()
bad=0
for ((r = 1; r <= ROUNDS; r++)); do
    for target in threadly nginx; do
        if [ "$target" = threadly ]; then url=$core_url; else url=$nginx_url; fi
        out=$(run_wrk "$url" "$DURATION") || die "wrk against $target failed"
        read -r rps p99 non2xx errs <<<"$out"
        note=
        if ((non2xx > 0 || errs > 0)); then
            note="  WARNING: $non2xx non-2xx responses, $errs socket errors"
            bad=1
        fi
        printf 'round %d  %-8s  %10s req/s  p99 %8s ms%s\n' "$r" "$target" "$rps" "$p99" "$note"
        if [ "$target" = threadly ]; then
            core_rps+=("$rps") core_p99+=("$p99")
        else
            nginx_rps+=("$rps") nginx_p99+=("$p99")
        fi
    done
done

sleep 1
rss_core_load=$(rss_mb "$core_pid")
rss_notif_load=$(rss_mb "$notif_pid")
kill -0 "$core_pid" 2>/dev/null || die "threadly-service died during the benchmark"

core_med=$(median "${core_rps[@]}")
nginx_med=$(median "${nginx_rps[@]}")
core_p99_med=$(median "${core_p99[@]}")
nginx_p99_med=$(median "${nginx_p99[@]}")
ratio=$(awk -v a="$core_med" -v b="$nginx_med" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "?" }')

echo
echo "median req/s: threadly-service $core_med, nginx static $nginx_med; ratio threadly/nginx $ratio"
echo "p99 ms:       threadly-service $(join "${core_p99[@]}") (median $core_p99_med)," \
    "nginx static $(join "${nginx_p99[@]}") (median $nginx_p99_med)"
echo "RSS MB:       threadly-service idle $rss_core_idle, after load $rss_core_load;" \
    "notification-service idle $rss_notif_idle, after load $rss_notif_load (not loaded)"
((bad == 0)) || echo "WARNING: some rounds had errors or non-2xx responses; their req/s are not comparable"

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
if [ "$commit" != none ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+="-dirty"
fi
cmd="DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP"
[ "$WRK_THREADS/$WRK_CONNECTIONS" = 2/64 ] || cmd+=" WRK_THREADS=$WRK_THREADS WRK_CONNECTIONS=$WRK_CONNECTIONS"
[ "$core_args" = "$default_core_args" ] || cmd+=" BENCH_CORE_ARGS='$core_args'"
cmd+=" bench/http_baseline.sh $build_arg"

echo
echo "row for bench/RESULTS.md:"
# shellcheck disable=SC2016 # the backticks are markdown
printf '| %s | %s | `%s` | %s | %s | %s | %s (%s) | %s (%s) | %s / %s | %s / %s | %s |\n' \
    "$(date -u +%Y-%m-%d)" "$commit" "$cmd" "$core_med" "$nginx_med" "$ratio" \
    "$core_p99_med" "$(join "${core_p99[@]}")" "$nginx_p99_med" "$(join "${nginx_p99[@]}")" \
    "$rss_core_idle" "$rss_core_load" "$rss_notif_idle" "$rss_notif_load" "$(nproc)"
ok=1
