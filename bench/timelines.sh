#!/usr/bin/env bash
# Timelines and statuses on SQLite or PostgreSQL (issue #3): wrk against GET /api/v1/timelines/home,
# POST /api/v1/statuses and GET /api/v1/statuses/:id on a seeded database (1,000 accounts each
# following 50, 200,000 statuses, a third of them favourited), with GET /api/v1/instance on the
# same service and nginx serving that body as a static file as references, alternating, in one
# command; plus the RSS of threadly-service idle and under load.
#
# The seed is made once and cached in bench/.cache/ (the data dir: database and token-signing
# key together, plus the tokens): a fresh data dir, one app and SEED_TOKENS accounts signed up
# through the real API (their tokens drive the load), then the other accounts, the follows and
# the statuses bulk-inserted with sqlite3 in one transaction, counters kept consistent. Each
# run copies the cached data dir, so the POST rounds never touch the cache.
#
# BENCH_DB=pgsql runs the same load on PostgreSQL: a cluster of its own (scripts/pg, durable
# settings: fsync and synchronous_commit on) on BENCH_PG_PORT, migrated by threadly-service
# itself, then every table of the cached SQLite seed copied in with COPY, so both engines
# serve the same rows and the same tokens.
#
# Usage: bench/timelines.sh [BUILD_DIR]   (env: DURATION ROUNDS WARMUP BENCH_*_PORT,
# BENCH_CORE_ARGS, WRK_THREADS, WRK_CONNECTIONS, SEED_ACCOUNTS SEED_FOLLOWS SEED_STATUSES
# SEED_TOKENS, RESEED=1 to rebuild the cached seed, BENCH_DB=sqlite|pgsql, BENCH_PG_PORT)
set -euo pipefail

BENCH_NAME=timelines
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_paths "${1:-build}"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
SEED_ACCOUNTS=${SEED_ACCOUNTS:-1000}
SEED_FOLLOWS=${SEED_FOLLOWS:-50}
SEED_STATUSES=${SEED_STATUSES:-200000}
SEED_TOKENS=${SEED_TOKENS:-100}
RESEED=${RESEED:-0}
BENCH_DB=${BENCH_DB:-sqlite}
pg_port=${BENCH_PG_PORT:-18195}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
core_port=${BENCH_CORE_PORT:-18180}
nginx_port=${BENCH_NGINX_PORT:-18190}
default_core_args=--access-log=false
core_args=${BENCH_CORE_ARGS-$default_core_args}
# Bump when the seed's content changes; the cache key also covers the migrations and SEED_*.
SEED_VERSION=2
# Cheap password hashing and no sign-up limit while seeding only.
seed_args=(--argon2-ops 1 --argon2-mem-kib 8 --signup-limit 100000 --login-limit 100000)

core_bin=$build_dir/services/threadly/threadly-service

for v in DURATION ROUNDS WARMUP WRK_THREADS WRK_CONNECTIONS SEED_ACCOUNTS SEED_FOLLOWS \
    SEED_STATUSES SEED_TOKENS RESEED core_port nginx_port pg_port; do
    [[ ${!v} =~ ^(0|[1-9][0-9]*)$ ]] || die "$v must be a whole number, not '${!v}'"
done
((ROUNDS > 0 && DURATION > 0)) || die "ROUNDS and DURATION must be positive"
((SEED_TOKENS >= 1 && SEED_TOKENS <= SEED_ACCOUNTS && SEED_ACCOUNTS <= 99999)) ||
    die "need 1 <= SEED_TOKENS <= SEED_ACCOUNTS <= 99999"
((SEED_STATUSES >= 1 && SEED_STATUSES <= 100000000)) || die "SEED_STATUSES must be 1..100000000"
# Follower k follows k + j*step + (k*7 % 13) for j = 1..SEED_FOLLOWS (mod SEED_ACCOUNTS): all
# distinct and never k itself while SEED_FOLLOWS * step + 12 < SEED_ACCOUNTS.
follow_step=$(((SEED_ACCOUNTS - 13) / (SEED_FOLLOWS > 0 ? SEED_FOLLOWS : 1)))
((SEED_FOLLOWS == 0 || follow_step >= 1)) || die "SEED_FOLLOWS must be below SEED_ACCOUNTS - 12"
[ -x "$core_bin" ] || die "$core_bin not found: build first, or pass BUILD_DIR"
for c in wrk nginx curl sqlite3 jq; do
    command -v "$c" >/dev/null || die "$c not found in PATH"
done
case $BENCH_DB in
sqlite) ports=("$core_port" "$nginx_port") ;;
pgsql)
    ports=("$core_port" "$nginx_port" "$pg_port")
    [ -x "$PG_BIN/psql" ] || die "$PG_BIN/psql not found (scripts/setup --test installs PostgreSQL)"
    ;;
*) die "BENCH_DB must be sqlite or pgsql, not '$BENCH_DB'" ;;
esac

for p in "${ports[@]}"; do
    ! port_in_use "$p" || die "port $p is already in use (set BENCH_CORE_PORT, BENCH_NGINX_PORT)"
done

bench_start timelines

# stop PID: SIGTERM, wait for the exit (SIGKILL after 10 s), forget it.
stop() {
    local pid=$1 i rest=()
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in "${pids[@]}"; do
        [ "$i" = "$pid" ] || rest+=("$i")
    done
    pids=("${rest[@]}")
}

# wait_http PID NAME URL LOG: waits up to 20 s for URL to answer 2xx while PID lives.

# rss_kb PID: VmRSS in kB, empty if the process is gone.
rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# rss_mb PID: resident set size in MB, one decimal.

core_url=http://127.0.0.1:$core_port

# start_core DATA_DIR LOG [FLAGS...]: starts threadly-service, waits for /health; sets core_pid.
start_core() {
    local data=$1 log=$2
    shift 2
    "$core_bin" --bind 127.0.0.1 --port "$core_port" --data-dir "$data" \
        --public-url "$core_url" "$@" 2>"$log" >&2 &
    core_pid=$!
    pids+=("$core_pid")
    wait_http "$core_pid" threadly-service "$core_url/health" "$log"
}

# ---- the seed: cached by migrations, SEED_* and SEED_VERSION ----

seed_key=$({
    echo "v$SEED_VERSION $SEED_ACCOUNTS $SEED_FOLLOWS $SEED_STATUSES $SEED_TOKENS"
    cat "$repo"/services/threadly/migrations/*.sql
} | sha256sum | cut -c1-12)
cache=$repo/bench/.cache/timelines-$seed_key

# seed DIR: builds the seed in DIR (data/, tokens.txt, status-paths.txt, seed.txt).
seed() {
    local dir=$1 log=$tmp/seed-threadly.log t_start=$SECONDS
    mkdir -p "$dir/data"
    say "seeding $SEED_ACCOUNTS accounts ($SEED_TOKENS through the API), $SEED_FOLLOWS follows" \
        "each, $SEED_STATUSES statuses into $dir (cached for later runs)"
    start_core "$dir/data" "$log" "${seed_args[@]}" --access-log=false
    local t0
    t0=$(date +%s%3N)
    local app client_id client_secret app_token
    app=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
        -d '{"client_name":"timelines bench","redirect_uris":"urn:ietf:wg:oauth:2.0:oob","scopes":"read write follow"}' \
        "$core_url/api/v1/apps") || die "POST /api/v1/apps failed"
    client_id=$(jq -er .client_id <<<"$app") || die "no client_id in $app"
    client_secret=$(jq -er .client_secret <<<"$app") || die "no client_secret in $app"
    app_token=$(curl -fsS --max-time 10 --data-urlencode grant_type=client_credentials \
        --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$client_secret" \
        --data-urlencode "scope=read write follow" "$core_url/oauth/token" |
        jq -er .access_token) || die "client_credentials token failed"
    local k name out token
    : >"$dir/tokens.txt"
    for ((k = 1; k <= SEED_TOKENS; k++)); do
        printf -v name 'bench%05d' "$k"
        out=$(curl -sS --max-time 30 -H "Authorization: Bearer $app_token" \
            --data-urlencode "username=$name" --data-urlencode "email=$name@bench.example" \
            --data-urlencode "password=benchmark password" --data-urlencode agreement=1 \
            --data-urlencode locale=en -w '\n%{http_code}' "$core_url/api/v1/accounts")
        [ "${out##*$'\n'}" = 200 ] || die "sign-up of $name failed: $out"
        token=$(jq -er .access_token <<<"${out%$'\n'*}") || die "no token for $name: $out"
        echo "$token" >>"$dir/tokens.txt"
    done
    stop "$core_pid"

    local db=$dir/data/threadly/threadly.db
    [ -f "$db" ] || die "threadly-service made no database at $db"
    # All seeded rows are dated before t0 (when the API accounts were made): accounts in the
    # first day of the ten before it, follows in the next two, statuses in the last seven but a
    # minute. Ids are (ms << 21) | (node 1 << 12) | seq 0 with distinct ms, so they increase
    # with time like lib/base/id's and cannot meet the ids the service makes later.
    local day=86400000
    local acct_base=$((t0 - 10 * day)) acct_gap=$((day / SEED_ACCOUNTS))
    local follow_base=$((t0 - 9 * day)) nfollows=$((SEED_ACCOUNTS * SEED_FOLLOWS))
    local follow_gap=$((2 * day / (nfollows > 0 ? nfollows : 1)))
    local status_base=$((t0 - 7 * day)) status_gap=$(((7 * day - 60000) / SEED_STATUSES))
    ((acct_gap >= 1 && follow_gap >= 1 && status_gap >= 1)) || die "too many rows for one per ms"
    local sql=$tmp/seed.sql
    cat >"$sql" <<SQL
.bail on
PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;
-- The other accounts, with the API accounts' password hash (same password).
WITH RECURSIVE seq(k) AS (SELECT $((SEED_TOKENS + 1)) UNION ALL SELECT k + 1 FROM seq WHERE k < $SEED_ACCOUNTS)
INSERT INTO accounts (id, username, email, display_name, note, password_hash, locked, bot,
                      discoverable, created_at_ms)
SELECT (($acct_base + k * $acct_gap) << 21) | (1 << 12), printf('bench%05d', k),
       printf('bench%05d@bench.example', k), '', '',
       (SELECT password_hash FROM accounts WHERE username = 'bench00001'), FALSE, FALSE, TRUE,
       $acct_base + k * $acct_gap
FROM seq;
CREATE TEMP TABLE acct (k INTEGER PRIMARY KEY, id INTEGER NOT NULL);
INSERT INTO acct SELECT CAST(substr(username, 6) AS INTEGER), id FROM accounts
WHERE username GLOB 'bench[0-9][0-9][0-9][0-9][0-9]';

-- Follows: k follows k + j*step + (k*7 % 13), j = 1..F (mod N); accepted, not requests.
WITH RECURSIVE f(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM f WHERE n + 1 < $nfollows),
e AS (SELECT n, n / $SEED_FOLLOWS + 1 AS k, n % $SEED_FOLLOWS + 1 AS j FROM f)
INSERT INTO follows (id, follower_id, followee_id, requested, created_at_ms)
SELECT (($follow_base + n * $follow_gap) << 21) | (1 << 12), a.id, b.id, FALSE,
       $follow_base + n * $follow_gap
FROM e JOIN acct a ON a.k = e.k
JOIN acct b ON b.k = (e.k - 1 + e.j * $follow_step + e.k * 7 % 13) % $SEED_ACCOUNTS + 1
WHERE $nfollows > 0
ORDER BY n;

-- Statuses: author and visibility from a multiplicative hash of the number i (80% public,
-- 10% unlisted, 10% private); every tenth (from i = 1000 on) replies to an earlier one.
CREATE TEMP TABLE gen (i INTEGER PRIMARY KEY, ms INTEGER NOT NULL, k INTEGER NOT NULL,
                       vis INTEGER NOT NULL, parent INTEGER NOT NULL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $SEED_STATUSES)
INSERT INTO gen
SELECT i, $status_base + i * $status_gap, ((i * 2654435761) >> 16) % $SEED_ACCOUNTS + 1,
       CASE WHEN ((i * 2654435761) >> 8) % 100 < 80 THEN 0
            WHEN ((i * 2654435761) >> 8) % 100 < 90 THEN 1 ELSE 2 END,
       CASE WHEN i % 10 = 7 AND i >= 1000 THEN i - 1 - (i * 31) % 500 ELSE 0 END
FROM s;
INSERT INTO statuses (id, account_id, text, content, spoiler_text, visibility, sensitive,
                      language, in_reply_to_id, in_reply_to_account_id, application_id,
                      created_at_ms, replies_count, favourites_count, reblogs_count)
SELECT (g.ms << 21) | (1 << 12), a.id,
       printf('Seeded status %d by bench%05d. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.', g.i, g.k),
       printf('<p>Seeded status %d by bench%05d. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>', g.i, g.k),
       '', g.vis, FALSE, 'en',
       CASE WHEN g.parent THEN (p.ms << 21) | (1 << 12) ELSE 0 END,
       CASE WHEN g.parent THEN pa.id ELSE 0 END,
       0, g.ms, 0, 0, 0
FROM gen g JOIN acct a ON a.k = g.k
LEFT JOIN gen p ON p.i = g.parent LEFT JOIN acct pa ON pa.k = p.k
ORDER BY g.i;

-- Favourites: every third status is favourited by one account, every sixth also by one of
-- the accounts with a token (so a home page has statuses its reader favourited, and most
-- pages have favourited statuses: the favourited check runs as in real use).
INSERT INTO favourites (id, account_id, status_id, created_at_ms)
SELECT (g.ms << 21) | (2 << 12), a.id, (g.ms << 21) | (1 << 12), g.ms
FROM gen g JOIN acct a ON a.k = (g.i * 7919) % $SEED_ACCOUNTS + 1
WHERE g.i % 3 = 0
UNION ALL
SELECT (g.ms << 21) | (3 << 12), a.id, (g.ms << 21) | (1 << 12), g.ms
FROM gen g JOIN acct a ON a.k = (g.i * 104729) % $SEED_TOKENS + 1
WHERE g.i % 6 = 0 AND a.k != (g.i * 7919) % $SEED_ACCOUNTS + 1;
UPDATE statuses SET favourites_count = (SELECT count(*) FROM favourites f
                                        WHERE f.status_id = statuses.id)
WHERE id IN (SELECT status_id FROM favourites);

-- The counters the service keeps in the same transaction as the rows.
UPDATE accounts SET
    statuses_count = (SELECT count(*) FROM statuses s WHERE s.account_id = accounts.id),
    last_status_at_ms = coalesce((SELECT max(s.created_at_ms) FROM statuses s
                                  WHERE s.account_id = accounts.id), 0),
    followers_count = (SELECT count(*) FROM follows f
                       WHERE f.followee_id = accounts.id AND f.requested = FALSE),
    following_count = (SELECT count(*) FROM follows f
                       WHERE f.follower_id = accounts.id AND f.requested = FALSE);
UPDATE statuses SET replies_count = (SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = statuses.id)
WHERE id IN (SELECT in_reply_to_id FROM statuses WHERE in_reply_to_id != 0);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    sqlite3 "$db" <"$sql" >"$tmp/seed-sql.out" 2>&1 || {
        cat "$tmp/seed-sql.out" >&2
        die "seeding with sqlite3 failed"
    }
    # GET /api/v1/statuses/:id goes over 1,000 public and unlisted statuses, asked anonymously.
    sqlite3 "$db" "SELECT '/api/v1/statuses/' || id FROM statuses WHERE visibility IN (0, 1)
        ORDER BY (id * 2654435761) % 1000003 LIMIT 1000" >"$dir/status-paths.txt"
    sqlite3 -separator ' ' "$db" "SELECT 'accounts', count(*) FROM accounts;
        SELECT 'follows', count(*) FROM follows; SELECT 'statuses', count(*) FROM statuses;
        SELECT 'favourites', count(*) FROM favourites;
        SELECT 'replies', count(*) FROM statuses WHERE in_reply_to_id != 0;
        SELECT 'visibility', group_concat(v, ' ') FROM
            (SELECT visibility || ':' || count(*) AS v FROM statuses GROUP BY visibility);" \
        >"$dir/seed.txt"
    echo "seconds $((SECONDS - t_start)) t0_ms $t0 key $seed_key" >>"$dir/seed.txt"
    local want
    for want in "accounts $SEED_ACCOUNTS" "follows $nfollows" "statuses $SEED_STATUSES"; do
        grep -qx "$want" "$dir/seed.txt" || die "seed counts are off (want $want): $(cat "$dir/seed.txt")"
    done
}

seeded=cached
if ((RESEED)) || [ ! -f "$cache/seed.txt" ]; then
    rm -rf "$cache" "$cache.tmp"
    mkdir -p "$(dirname "$cache")"
    seed "$cache.tmp"
    mv "$cache.tmp" "$cache"
    seeded="fresh, $(awk '$1 == "seconds" { print $2 }' "$cache/seed.txt") s"
fi
echo "seed ($seeded): $(tr '\n' ' ' <"$cache/seed.txt")"
echo "      $cache"

# ---- start threadly-service on a copy of the seed ----

cp -a "$cache/data" "$tmp/data"
cp "$cache/tokens.txt" "$cache/status-paths.txt" "$tmp/"
db_args=()
if [ "$BENCH_DB" = pgsql ]; then
    # Under /tmp: the server runs as user postgres, which may not enter $tmp.
    pg_dir=$(mktemp -d /tmp/threadly-bench-pg.XXXXXX)
    on_exit+=("'$repo/scripts/pg' stop '$pg_dir' >/dev/null 2>&1; rm -rf '$pg_dir'")
    pg_url=$(THREADLY_PG_DURABLE=1 "$repo/scripts/pg" start "$pg_dir" "$pg_port") ||
        die "PostgreSQL did not start on port $pg_port"
    psql_cmd=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$pg_url")
    db_args=(--db "$pg_url")
    # threadly-service makes the schema; then the seed's rows go in, table by table.
    start_core "$tmp/data" "$tmp/migrate.log" "${db_args[@]}"
    stop "$core_pid"
    t_copy=$SECONDS
    sqlite_db=$tmp/data/threadly/threadly.db
    for table in $(sqlite3 "$sqlite_db" "SELECT name FROM sqlite_master WHERE type = 'table'
            AND name NOT LIKE 'sqlite%' AND name != 'schema_migrations'
            ORDER BY CASE name WHEN 'accounts' THEN 0 WHEN 'statuses' THEN 1 ELSE 2 END, name"); do
        # (accounts and statuses first: the other tables' foreign keys point at them)
        # Same migrations, same column order; SQLite's booleans are 0/1, which PostgreSQL takes.
        cols=$(sqlite3 "$sqlite_db" "SELECT group_concat(name, ', ') FROM pragma_table_info('$table')")
        sqlite3 -csv "$sqlite_db" "SELECT $cols FROM $table" |
            "${psql_cmd[@]}" -c "\\copy $table ($cols) FROM STDIN WITH (FORMAT csv)" ||
            die "copying table $table into PostgreSQL failed"
    done
    "${psql_cmd[@]}" -c "VACUUM ANALYZE" || die "VACUUM ANALYZE failed"
    echo "PostgreSQL: $pg_url (durable settings), seed copied in $((SECONDS - t_copy)) s"
fi
# shellcheck disable=SC2086 # BENCH_CORE_ARGS is a list of flags
start_core "$tmp/data" "$tmp/threadly.log" "${db_args[@]}" $core_args
sleep 1
rss_core_idle=$(rss_mb "$core_pid")

# ---- the static reference: nginx serving the body of GET /api/v1/instance ----

ref=$tmp/nginx
mkdir -p "$ref"
curl -fsS --max-time 5 -o "$ref/instance.json" "$core_url/api/v1/instance" ||
    die "GET /api/v1/instance on threadly-service failed"
[ -s "$ref/instance.json" ] || die "GET /api/v1/instance on threadly-service returned an empty body"
"$repo/scripts/render-gateway" "$repo/deploy/nginx/static-reference.conf.template" "$ref" \
    "127.0.0.1:$nginx_port" - -
# As root the nginx workers run as nobody: let them reach the file in the 0700 mktemp dir.
chmod 755 "$tmp"
chmod 644 "$ref/instance.json"
nginx -p "$ref/" -c "$ref/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.stderr" &
nginx_pid=$!
pids+=("$nginx_pid")
nginx_url=http://127.0.0.1:$nginx_port
wait_http "$nginx_pid" nginx "$nginx_url/api/v1/instance" "$ref/error.log"

# ---- check that each endpoint answers for real before loading it ----

token1=$(head -n 1 "$tmp/tokens.txt")
path1=$(head -n 1 "$tmp/status-paths.txt")
home_path='/api/v1/timelines/home?limit=20'
# probe NAME JQ_CHECK CURL_ARGS...: one request; 200 and a body passing JQ_CHECK, or die.
probe() {
    local name=$1 check=$2 out code body
    shift 2
    out=$(curl -sS --max-time 10 -w '\n%{http_code}' "$@") || die "$name: curl failed"
    code=${out##*$'\n'} body=${out%$'\n'*}
    [ "$code" = 200 ] || die "$name answered $code: ${body:0:300}"
    jq -e "$check" >/dev/null <<<"$body" || die "$name: unexpected body: ${body:0:300}"
    printf '%-34s -> 200, %6d bytes, %s\n' "$name" "${#body}" "$(jq -c "$check" <<<"$body")"
}
probe "GET $home_path" 'if type == "array" and length > 0 then "\(length) statuses" else false end' \
    -H "Authorization: Bearer $token1" "$core_url$home_path"
probe "GET ${path1%/*}/:id" 'if .id then "status \(.id)" else false end' "$core_url$path1"
probe "GET /api/v1/instance" 'if .uri then "instance \(.uri)" else false end' \
    "$core_url/api/v1/instance"
probe "POST /api/v1/statuses" 'if .id then "status \(.id)" else false end' \
    -H "Authorization: Bearer $token1" -H 'Content-Type: application/json' \
    -d '{"status":"probe from bench/timelines.sh","visibility":"public"}' "$core_url/api/v1/statuses"
probe "nginx GET /api/v1/instance" 'if .uri then "static copy" else false end' \
    "$nginx_url/api/v1/instance"

# ---- load ----

# One Lua script for every target, so that wrk does the same work per request everywhere
# (a request() function): args MODE FILE [PATH]. MODE paths: GET each line of FILE in turn;
# get: GET PATH with each line of FILE as bearer token; post: POST a JSON status to PATH.
lua=$tmp/rotate.lua
cat >"$lua" <<'LUA'
local items, mode, path = {}, "paths", "/"
local n, i = 0, 0
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("thread_no", threads)
end
function init(args)
    mode, path = args[1], args[3]
    for line in io.lines(args[2]) do
        if line ~= "" then items[#items + 1] = line end
    end
    n = #items
    i = (thread_no or 0) * 7919 -- the threads start at different items
end
function request()
    i = i + 1
    local item = items[i % n + 1]
    if mode == "paths" then
        return wrk.format("GET", item)
    elseif mode == "get" then
        return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. item })
    end
    local body = '{"status":"wrk post ' .. i .. ' from bench/timelines.sh","visibility":"public"}'
    return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. item,
        ["Content-Type"] = "application/json" }, body)
end
LUA
echo /api/v1/instance >"$tmp/instance-paths.txt"

# target NAME: sets url and the wrk script arguments for a target.
target_args() {
    case $1 in
    home) url=$core_url$home_path wargs=(get "$tmp/tokens.txt" "$home_path") ;;
    status) url=$core_url wargs=(paths "$tmp/status-paths.txt") ;;
    instance) url=$core_url wargs=(paths "$tmp/instance-paths.txt") ;;
    post) url=$core_url/api/v1/statuses wargs=(post "$tmp/tokens.txt" /api/v1/statuses) ;;
    nginx) url=$nginx_url wargs=(paths "$tmp/instance-paths.txt") ;;
    *) die "unknown target $1" ;;
    esac
}

# run_wrk TARGET SECONDS: prints "REQ_PER_S P99_MS NON2XX SOCKET_ERRORS MAX_RSS_KB" for one
# wrk run; MAX_RSS_KB is threadly-service's VmRSS peak, sampled every 0.5 s during the run.
run_wrk() {
    local url wargs out sampler rss_file=$tmp/rss.samples
    target_args "$1"
    : >"$rss_file"
    (while kill -0 "$core_pid" 2>/dev/null; do
        rss_kb "$core_pid" >>"$rss_file"
        sleep 0.5
    done) &
    sampler=$!
    pids+=("$sampler")
    out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$2"s --latency -s "$lua" "$url" \
        -- "${wargs[@]}" 2>&1) || {
        stop "$sampler"
        say "$out"
        return 1
    }
    stop "$sampler"
    echo "$out" >>"$tmp/wrk-$1.txt"
    local rss_max
    rss_max=$(sort -n "$rss_file" | tail -n 1)
    awk -v rss="${rss_max:-0}" '
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
            printf "%.0f %.2f %d %d %d\n", rps, p99, non2xx, errs, rss
        }' <<<"$out"
}

echo "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${DURATION}s --latency, $ROUNDS rounds each;" \
    "reads (home, status, instance, nginx) alternate, then writes (post, nginx) alternate;" \
    "$(nproc) CPUs, $(uname -sr)"

# settle: after a run, waits (up to 120 s) until threadly-service has worked off what the
# closed wrk connections left queued (a slow endpoint leaves up to WRK_CONNECTIONS requests in
# flight): five GET /api/v1/instance in a row, each on a new connection, under 50 ms. Without
# it a slow run's backlog is measured as part of the next run. Prints the seconds waited.
settle() {
    local start=$SECONDS fast=0 t
    while ((fast < 5 && SECONDS - start < 120)); do
        t=$(curl -s -o /dev/null --max-time 5 -w '%{time_total}' "$core_url/api/v1/instance") || t=9
        if awk -v t="$t" 'BEGIN { exit !(t < 0.05) }'; then
            fast=$((fast + 1))
        else
            fast=0
            sleep 0.2
        fi
    done
    ((fast >= 5)) || die "threadly-service still slow 120 s after a run"
    echo $((SECONDS - start))
}

declare -A rps_of p99_of non2xx_of errs_of rss_of settle_of
# measure TARGET ROUND: one run, printed and recorded.
measure() {
    local out rps p99 non2xx errs rss note=
    out=$(run_wrk "$1" "$DURATION") || die "wrk against $1 failed"
    read -r rps p99 non2xx errs rss <<<"$out"
    if ((non2xx > 0 || errs > 0)); then
        note="  WARNING: $non2xx non-2xx responses, $errs socket errors"
    fi
    local waited
    waited=$(settle)
    ((waited < 1)) || note+="  (then ${waited} s until the service was idle again)"
    settle_of[$1]=$((${settle_of[$1]:-0} + waited))
    printf 'round %d  %-8s  %8s req/s  p99 %8s ms  RSS max %5.1f MB%s\n' "$2" "$1" "$rps" "$p99" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$note"
    rps_of[$1]+="$rps " p99_of[$1]+="$p99 "
    non2xx_of[$1]=$((${non2xx_of[$1]:-0} + non2xx)) errs_of[$1]=$((${errs_of[$1]:-0} + errs))
    ((${rss_of[$1]:-0} >= rss)) || rss_of[$1]=$rss
}

if ((WARMUP > 0)); then
    for t in home status instance nginx; do
        run_wrk "$t" "$WARMUP" >/dev/null || die "wrk warm-up against $t failed"
        settle >/dev/null
    done
fi
# Reads first: the POST rounds add statuses to the home timelines being read.
for ((r = 1; r <= ROUNDS; r++)); do
    for t in home status instance nginx; do
        measure "$t" "$r"
    done
done
if ((WARMUP > 0)); then
    run_wrk post "$WARMUP" >/dev/null || die "wrk warm-up against post failed"
    settle >/dev/null
fi
for ((r = 1; r <= ROUNDS; r++)); do
    for t in post nginx; do
        measure "$t" "$r"
    done
done

sleep 1
rss_core_after=$(rss_mb "$core_pid")
kill -0 "$core_pid" 2>/dev/null || die "threadly-service died during the benchmark"

# ---- after the load: is the database still consistent, did the service log errors? ----

consistency_sql="SELECT (SELECT count(*) FROM statuses),
    (SELECT sum(statuses_count) FROM accounts),
    (SELECT count(*) FROM accounts a WHERE statuses_count !=
        (SELECT count(*) FROM statuses s WHERE s.account_id = a.id))"
if [ "$BENCH_DB" = pgsql ]; then
    consistency=$("${psql_cmd[@]}" -tA -F ' ' -c "$consistency_sql")
else
    consistency=$(sqlite3 -separator ' ' "$tmp/data/threadly/threadly.db" "$consistency_sql")
fi
read -r n_statuses sum_counts bad_accounts <<<"$consistency"
log_errors=$(grep -c '"level":"\(error\|warn\)"' "$tmp/threadly.log" || true)

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "?" }'
}

declare -A med p99med rounds p99rounds
for t in home status instance post nginx; do
    # shellcheck disable=SC2086 # word lists built by measure
    {
        med[$t]=$(median ${rps_of[$t]})
        p99med[$t]=$(median ${p99_of[$t]})
        rounds[$t]=$(join ${rps_of[$t]})
        p99rounds[$t]=$(join ${p99_of[$t]})
    }
done
rss_load_max=0
for t in home status instance post; do
    ((${rss_of[$t]} <= rss_load_max)) || rss_load_max=${rss_of[$t]}
done
rss_load_mb=$(awk -v k="$rss_load_max" 'BEGIN { printf "%.1f", k / 1024 }')

# goal TARGET: the issue's goal for a target and whether this run met it.
goal() {
    local met
    case $1 in
    home)
        met=$(awk -v r="${med[home]}" -v p="${p99med[home]}" 'BEGIN { print (r >= 5000 && p < 20) ? "met" : "missed" }')
        echo ">= 5000 req/s, p99 < 20 ms: $met"
        ;;
    post)
        met=$(awk -v r="${med[post]}" 'BEGIN { print (r >= 2000) ? "met" : "missed" }')
        echo ">= 2000 req/s: $met"
        ;;
    status)
        met=$(awk -v r="${med[status]}" -v b="${med[instance]}" 'BEGIN { print (r >= 0.5 * b) ? "met" : "missed" }')
        echo ">= 0.5x /api/v1/instance: $met"
        ;;
    instance) echo "reference for statuses/:id" ;;
    esac
}

echo
printf '%-10s %10s %12s %10s %10s %12s  %s\n' target "req/s" "p99 ms" "x nginx" "x instance" \
    "RSS max MB" "rounds req/s | p99 ms"
for t in home status instance post nginx; do
    rss=-
    [ "$t" = nginx ] || rss=$(awk -v k="${rss_of[$t]}" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '%-10s %10s %12s %10s %10s %12s  %s | %s\n' "$t" "${med[$t]}" "${p99med[$t]}" \
        "$(ratio "${med[$t]}" "${med[nginx]}")" "$(ratio "${med[$t]}" "${med[instance]}")" \
        "$rss" "${rounds[$t]}" "${p99rounds[$t]}"
done
echo "RSS MB:     threadly-service idle $rss_core_idle, max under load $rss_load_mb (goal < 50)," \
    "after load $rss_core_after"
echo "goals:      home ${med[home]} req/s p99 ${p99med[home]} ms ($(goal home));" \
    "post ${med[post]} req/s ($(goal post));" \
    "status/:id $(ratio "${med[status]}" "${med[instance]}")x instance ($(goal status));" \
    "RSS $rss_load_mb MB ($(awk -v m="$rss_load_mb" 'BEGIN { print (m < 50) ? "met" : "missed" }'))"
echo "database:   $n_statuses statuses, sum of statuses_count $sum_counts," \
    "$bad_accounts accounts with a wrong statuses_count; $log_errors warn/error log lines"
for t in home status instance post nginx; do
    if ((${non2xx_of[$t]} > 0 || ${errs_of[$t]} > 0)); then
        echo "WARNING: $t had ${non2xx_of[$t]} non-2xx responses and ${errs_of[$t]} socket errors" \
            "over all rounds; its req/s are not comparable"
    fi
    if ((${settle_of[$t]} >= 1)); then
        echo "NOTE: after the $t runs threadly-service needed ${settle_of[$t]} s in all to work off" \
            "the requests wrk left in flight"
    fi
done
((n_statuses == sum_counts && bad_accounts == 0)) ||
    echo "WARNING: statuses_count no longer matches the statuses rows"
if ((log_errors > 0)); then
    echo "service warnings/errors (first 5 of $log_errors):"
    grep '"level":"\(error\|warn\)"' "$tmp/threadly.log" | head -n 5
fi

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)
if [ "$commit" != none ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit+="-dirty"
fi
cmd="DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP"
[ "$BENCH_DB" = sqlite ] || cmd="BENCH_DB=$BENCH_DB $cmd"
[ "$WRK_THREADS/$WRK_CONNECTIONS" = 2/64 ] || cmd+=" WRK_THREADS=$WRK_THREADS WRK_CONNECTIONS=$WRK_CONNECTIONS"
[ "$SEED_ACCOUNTS/$SEED_FOLLOWS/$SEED_STATUSES/$SEED_TOKENS" = 1000/50/200000/100 ] ||
    cmd+=" SEED_ACCOUNTS=$SEED_ACCOUNTS SEED_FOLLOWS=$SEED_FOLLOWS SEED_STATUSES=$SEED_STATUSES SEED_TOKENS=$SEED_TOKENS"
[ "$core_args" = "$default_core_args" ] || cmd+=" BENCH_CORE_ARGS='$core_args'"
cmd+=" bench/timelines.sh $build_arg"

declare -A label=(
    [home]='GET /api/v1/timelines/home?limit=20'
    [status]='GET /api/v1/statuses/:id'
    [instance]='GET /api/v1/instance'
    [post]='POST /api/v1/statuses'
)
echo
echo "rows for bench/RESULTS.md:"
day=$(date -u +%Y-%m-%d)
for t in home post status instance; do
    # shellcheck disable=SC2016 # the backticks are markdown
    printf '| %s | %s | `%s` | `%s` | %s (%s) | %s (%s) | %s | %s | %s | %s | %s / %s | %s | %s |\n' \
        "$day" "$commit" "$cmd" "${label[$t]}" "${med[$t]}" "${rounds[$t]}" \
        "${p99med[$t]}" "${p99rounds[$t]}" "$((${non2xx_of[$t]} + ${errs_of[$t]}))" "${med[nginx]}" \
        "$(ratio "${med[$t]}" "${med[nginx]}")" "$(ratio "${med[$t]}" "${med[instance]}")" \
        "$rss_core_idle" "$(awk -v k="${rss_of[$t]}" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "$(goal "$t")" "$(nproc)"
done
ok=1
