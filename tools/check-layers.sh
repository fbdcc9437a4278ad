#!/usr/bin/env bash
# Architecture layer check (docs: /ARCHITECTURE.md "Layers", STYLE.md "Layout"): scans the
# #include lines of every .c/.h under lib/ and services/ and reports includes that point the
# wrong way. Usage: tools/check-layers.sh [ROOT]   |   tools/check-layers.sh --self-test
set -euo pipefail

# Rules (repo-root include paths, e.g. "services/threadly/ports/post_store.h"):
#   everywhere       quoted includes start at the root (lib/... or services/...), no "..";
#   lib/             no services/ code; lib/base (the kernel) includes no other lib/ module;
#   services/S/      no code of another service;
#   S/domain/        only lib/base, S/domain, C standard headers minus stdio.h and time.h
#                    (no I/O, no clock; also no threads.h, signal.h, locale.h, setjmp.h);
#   S/ports/         only lib/base, lib/events, S/domain, S/ports, C standard headers
#                    (lib/events is allowed so a port can carry the shared event envelope);
#   S/app/           only lib/base, lib/events, S/domain, S/ports, S/app, C standard headers;
#   S/adapters/, S/main.c and other files of S: anything but another service's code.
# Each violation prints as `file:line: rule (why): include line`; exit 1 if any.

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")

read -r -d '' AWK_PROG <<'AWK' || true
BEGIN {
    n = split("assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h " \
              "limits.h locale.h math.h setjmp.h signal.h stdalign.h stdarg.h stdatomic.h " \
              "stdbool.h stddef.h stdint.h stdio.h stdlib.h stdnoreturn.h string.h tgmath.h " \
              "threads.h time.h uchar.h wchar.h wctype.h", a, " ")
    for (i = 1; i <= n; i++) std[a[i]] = 1
    n = split("stdio.h time.h", a, " ")
    for (i = 1; i <= n; i++) domain_io[a[i]] = 1
    n = split("threads.h signal.h locale.h setjmp.h", a, " ")
    for (i = 1; i <= n; i++) domain_std_no[a[i]] = 1
    # Driver, library and OS headers: never in domain, ports or app.
    n = split("libpq-fe.h sqlite3.h jansson.h microhttpd.h hiredis.h rdkafka.h curl.h " \
              "sodium.h jwt.h wslay.h pthread.h unistd.h fcntl.h poll.h netdb.h dirent.h " \
              "dlfcn.h syslog.h semaphore.h sched.h termios.h bson.h mongoc.h " \
              "libmongoc-1.0.h zlib.h uv.h argon2.h", a, " ")
    for (i = 1; i <= n; i++) libhdr[a[i]] = 1
    libdir_re = "^(sys|arpa|netinet|linux|hiredis|librdkafka|curl|wslay|postgresql|libpq|" \
                "openssl|mongoc|bson|libbson-1.0|libmongoc-1.0|event2|sodium|jansson|jwt|l8w8jwt)/"
}

function report(rule, why) {
    printf "%s:%d: %s (%s): %s\n", FILENAME, FNR, rule, why, text
}

function is_lib_header(h) {
    return (h in libhdr) || h ~ libdir_re
}

FNR == 1 {
    incomment = 0
    nf = split(FILENAME, fp, "/")
    area = fp[1]; module = fp[2]; layer = ""
    if (area == "services" && nf > 3 && fp[3] ~ /^(domain|app|ports|adapters)$/) layer = fp[3]
    else if (area == "services") layer = "root"
}

{
    line = $0
    sub(/\r$/, "", line)
    # Skip includes inside /* */ blocks (string literals and // comments removed first).
    scan = line
    gsub(/"([^"\\]|\\.)*"/, "\"\"", scan)
    gsub(/'([^'\\]|\\.)*'/, "''", scan)
    was_comment = incomment
    while (1) {
        if (incomment) {
            p = index(scan, "*/")
            if (!p) break
            scan = substr(scan, p + 2); incomment = 0
        } else {
            sub(/\/\/.*/, "", scan)
            p = index(scan, "/*")
            if (!p) break
            scan = substr(scan, p + 2); incomment = 1
        }
    }
    if (was_comment) next
    if (line !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) next

    text = line
    sub(/^[ \t]+/, "", text)
    s = line
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
    quoted = (substr(s, 1, 1) == "\"")
    s = substr(s, 2)
    p = index(s, quoted ? "\"" : ">")
    if (!p) next
    inc = substr(s, 1, p - 1)
    ni = split(inc, ip, "/")

    if (inc ~ /(^|\/)\.\.(\/|$)/ || (quoted && inc !~ /^(lib|services)\//)) {
        report("include-path", "quoted includes start at the repository root: lib/... or services/...")
        next
    }

    if (area == "lib") {
        if (ip[1] == "services") {
            report("lib-no-services", "lib/ knows nothing of the services")
        } else if (module == "base" && ip[1] == "lib" && ip[2] != "base") {
            report("base-is-kernel", "lib/base must not include lib/" ip[2])
        }
        next
    }
    if (area != "services") next

    if (ip[1] == "services" && ip[2] != module) {
        report("cross-service", "services/" module " must not include services/" ip[2] " code")
        next
    }
    if (layer == "root" || layer == "adapters") next

    # domain, ports or app: classify the target.
    own = (ip[1] == "services" && ip[2] == module)
    tlayer = ""
    if (own) tlayer = (ni > 3 && ip[3] ~ /^(domain|app|ports|adapters)$/) ? ip[3] : "root"
    if (own && tlayer == "root" && ip[ni] ~ /^main\.[ch]$/) tlayer = "main"

    if (layer == "domain") {
        if (tlayer == "domain" || inc ~ /^lib\/base\//) next
        if (tlayer == "adapters" || tlayer == "app" || tlayer == "ports")
            report("domain-no-" tlayer, "the domain must not depend on " tlayer "/")
        else if (tlayer == "main")
            report("domain-no-main", "the domain must not include the composition root")
        else if (ip[1] == "lib")
            report("domain-only-lib-base", "the domain may use lib/base only, not lib/" ip[2])
        else if (inc in domain_io)
            report("domain-no-io-clock", "the domain does no I/O and reads no clock")
        else if (inc in domain_std_no)
            report("domain-no-" (inc ~ /^threads/ ? "threads" : "process-state"), \
                   "the domain does not use threads, signals, locales or longjmp")
        else if (is_lib_header(inc))
            report("domain-no-library-header", "the domain must not include library or OS headers")
        else if (!(inc in std))
            report("domain-header-not-allowed", \
                   "the domain may include only lib/base, its own domain/ and C standard headers")
        next
    }

    if (layer == "ports") {
        if (tlayer == "domain" || tlayer == "ports" || inc ~ /^lib\/(base|events)\//) next
        if (tlayer == "app" || tlayer == "adapters")
            report("ports-no-" tlayer, "ports must not depend on " tlayer "/")
        else if (tlayer == "main")
            report("ports-no-main", "ports must not include the composition root")
        else if (is_lib_header(inc))
            report("ports-no-library-header", "ports must not include driver, library or OS headers")
        else if (!(inc in std))
            report("ports-header-not-allowed", \
                   "ports may include only lib/base, lib/events, own domain/ and ports/, C standard headers")
        next
    }

    if (layer == "app") {
        if (tlayer == "domain" || tlayer == "ports" || tlayer == "app") next
        if (inc ~ /^lib\/(base|events)\//) next
        if (tlayer == "adapters")
            report("app-no-adapters", "use cases must not depend on adapters/")
        else if (tlayer == "main")
            report("app-no-main", "use cases must not include the composition root")
        else if (is_lib_header(inc))
            report("app-no-library-header", "use cases must not include driver, library or OS headers")
        else if (!(inc in std))
            report("app-header-not-allowed", \
                   "use cases may include only lib/base, lib/events, own domain/, ports/ and app/, C standard headers")
        next
    }
}
AWK

# check ROOT: prints violations and a summary; returns 1 if any.
check() {
    local root=$1 dirs=() d files violations
    [ -d "$root" ] || { echo "check-layers: no such directory: $root" >&2; return 2; }
    for d in lib services; do
        [ -d "$root/$d" ] && dirs+=("$d")
    done
    if ((${#dirs[@]} == 0)); then
        echo "check-layers: OK (no lib/ or services/ under $root)"
        return 0
    fi
    files=$(cd "$root" && find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | wc -l)
    violations=$(cd "$root" &&
        find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z |
        xargs -0 -r awk "$AWK_PROG")
    if [ -n "$violations" ]; then
        printf '%s\n' "$violations"
        echo "check-layers: FAILED: $(printf '%s\n' "$violations" | wc -l) violation(s) in $files file(s)"
        return 1
    fi
    echo "check-layers: OK ($files files)"
}

# A tree with one violation of each kind (marked `expect: RULE` on its line) and clean files;
# the check must report exactly the marked lines and pass once the bad files are removed.
self_test() {
    local fail=0 out rc expected actual
    t=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
    trap 'rm -rf "$t"' EXIT

    w() { mkdir -p "$(dirname "$t/$1")" && cat >"$t/$1"; }

    # ---- clean files: every allowed kind of include ----
    w lib/base/err.h <<'EOF'
/* lib/base/err.h - errors. */
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include "lib/base/arena.h"
EOF
    w lib/http/server.c <<'EOF'
#include "lib/http/server.h"
#include "lib/base/err.h"
#include "lib/events/envelope.h"
#include <microhttpd.h>
#include <wslay/wslay.h>
EOF
    w services/threadly/domain/post.c <<'EOF'
/* Example in a comment:
#include "services/threadly/adapters/sqlite/post_store_sqlite.h"
*/
#include "services/threadly/domain/post.h"

#  include "lib/base/err.h" /* comment */
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdatomic.h>
// #include <stdio.h>
static const char *mime = "*/*";
#include <assert.h>
EOF
    w services/threadly/ports/post_store.h <<'EOF'
#include "services/threadly/domain/post.h"
#include "services/threadly/ports/clock.h"
#include "lib/base/err.h"
#include "lib/events/envelope.h"
#include <stddef.h>
#include <time.h>
EOF
    w services/threadly/app/create_post.c <<'EOF'
#include "services/threadly/app/create_post.h"
#include "services/threadly/ports/post_store.h"
#include "services/threadly/domain/post.h"
#include "lib/events/envelope.h"
#include "lib/base/log.h"
#include <stdio.h>
#include <time.h>
EOF
    w services/threadly/adapters/sqlite/post_store_sqlite.c <<'EOF'
#include "services/threadly/adapters/sqlite/post_store_sqlite.h"
#include "services/threadly/ports/post_store.h"
#include "services/threadly/app/create_post.h"
#include "lib/http/server.h"
#include <sqlite3.h>
#include <sys/socket.h>
#include <pthread.h>
EOF
    w services/threadly/main.c <<'EOF'
#include "services/threadly/adapters/sqlite/post_store_sqlite.h"
#include "services/threadly/app/create_post.h"
#include "lib/http/server.h"
#include <unistd.h>
EOF
    w services/notification/domain/notification.h <<'EOF'
#include "services/notification/domain/account.h"
#include "lib/base/err.h"
EOF
    # Not scanned: outside lib/ and services/, or not C.
    w tests/unit/test_post.c <<'EOF'
#include "services/notification/domain/notification.h"
#include "services/threadly/adapters/mem/post_store_mem.h"
EOF
    w services/threadly/domain/NOTES.md <<'EOF'
#include "services/threadly/adapters/sqlite/x.h"
EOF

    # Clean tree passes.
    if out=$(check "$t" 2>&1); then
        echo "self-test: clean tree passes"
    else
        echo "self-test: FAIL: clean tree reported violations:"
        printf '%s\n' "$out" | sed 's/^/  /'
        fail=1
    fi

    # ---- one violation of each kind ----
    w lib/base/bad_base.c <<'EOF'
#include "lib/base/err.h"
#include "lib/http/server.h" /* expect: base-is-kernel */
#include "lib/events/envelope.h" /* expect: base-is-kernel */
EOF
    w lib/http/bad_lib.c <<'EOF'
#include "services/threadly/ports/post_store.h" /* expect: lib-no-services */
EOF
    w services/threadly/adapters/http/bad_cross.c <<'EOF'
#include "services/notification/ports/notification_store.h" /* expect: cross-service */
EOF
    w services/notification/app/bad_cross.c <<'EOF'
#include "services/threadly/domain/post.h" /* expect: cross-service */
EOF
    w services/notification/main.c <<'EOF'
#include "services/threadly/adapters/http/routes.h" /* expect: cross-service */
EOF
    w services/threadly/domain/bad.c <<'EOF'
#include "services/threadly/domain/post.h"
#include "services/threadly/adapters/sqlite/post_store_sqlite.h" /* expect: domain-no-adapters */
#include "services/threadly/app/create_post.h" /* expect: domain-no-app */
#include "services/threadly/ports/post_store.h" /* expect: domain-no-ports */
#include "services/threadly/main.c" /* expect: domain-no-main */
#include "lib/http/server.h" /* expect: domain-only-lib-base */
#include "lib/events/envelope.h" /* expect: domain-only-lib-base */
#include <stdio.h> /* expect: domain-no-io-clock */
#include <time.h> /* expect: domain-no-io-clock */
#include <threads.h> /* expect: domain-no-threads */
#include <libpq-fe.h> /* expect: domain-no-library-header */
#include <sqlite3.h> /* expect: domain-no-library-header */
#include <jansson.h> /* expect: domain-no-library-header */
#include <microhttpd.h> /* expect: domain-no-library-header */
#include <hiredis/hiredis.h> /* expect: domain-no-library-header */
#include <librdkafka/rdkafka.h> /* expect: domain-no-library-header */
#include <curl/curl.h> /* expect: domain-no-library-header */
#include <sodium.h> /* expect: domain-no-library-header */
#include <jwt.h> /* expect: domain-no-library-header */
#include <wslay/wslay.h> /* expect: domain-no-library-header */
#include <pthread.h> /* expect: domain-no-library-header */
#include <unistd.h> /* expect: domain-no-library-header */
#include <sys/types.h> /* expect: domain-no-library-header */
#include <yaml.h> /* expect: domain-header-not-allowed */
#include "post.h" /* expect: include-path */
#include "services/threadly/domain/../adapters/x.h" /* expect: include-path */
EOF
    w services/threadly/ports/bad.h <<'EOF'
#include "services/threadly/app/create_post.h" /* expect: ports-no-app */
#include "services/threadly/adapters/mem/post_store_mem.h" /* expect: ports-no-adapters */
#include <sqlite3.h> /* expect: ports-no-library-header */
#include "lib/http/server.h" /* expect: ports-header-not-allowed */
EOF
    w services/threadly/app/bad.c <<'EOF'
#include "services/threadly/adapters/pgsql/post_store_pgsql.h" /* expect: app-no-adapters */
#include "services/threadly/main.h" /* expect: app-no-main */
#include <libpq-fe.h> /* expect: app-no-library-header */
#include <pthread.h> /* expect: app-no-library-header */
#include "lib/http/server.h" /* expect: app-header-not-allowed */
EOF

    rc=0
    out=$(check "$t" 2>&1) || rc=$?
    if ((rc != 1)); then
        echo "self-test: FAIL: check exited $rc on the tree with violations (want 1)"
        fail=1
    fi
    expected=$(cd "$t" && grep -rn --include='*.[ch]' -o 'expect: [a-z-]*' lib services |
        sed -E 's/^([^:]+):([0-9]+):expect: (.*)$/\1:\2: \3/' | sort)
    actual=$(printf '%s\n' "$out" | grep -E '^[^ :]+:[0-9]+: ' |
        sed -E 's/^([^:]+:[0-9]+: [a-z-]+) .*/\1/' | sort)
    if [ "$expected" = "$actual" ]; then
        echo "self-test: all $(printf '%s\n' "$expected" | wc -l) planted violations found, none other"
    else
        echo "self-test: FAIL: expected (<) vs reported (>):"
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | grep '^[<>]' | sed 's/^/  /'
        fail=1
    fi
    if ! printf '%s\n' "$out" | grep -q '^lib/base/bad_base.c:2: base-is-kernel (.*): #include "lib/http/server.h" /\* expect: base-is-kernel \*/$'; then
        echo "self-test: FAIL: violation line format is not 'file:line: rule (why): include line'"
        fail=1
    fi

    # Empty trees pass.
    rm -rf "${t:?}"/*
    check "$t" >/dev/null || { echo "self-test: FAIL: tree without lib/ and services/ fails"; fail=1; }
    mkdir -p "$t/lib" "$t/services/threadly/domain"
    check "$t" >/dev/null || { echo "self-test: FAIL: empty lib/ and services/ fail"; fail=1; }

    if ((fail)); then
        echo "check-layers self-test: FAILED"
        return 1
    fi
    echo "check-layers self-test: OK"
}

case ${1:-} in
--self-test) self_test ;;
-h | --help) sed -n '2,4p' "$self" | sed 's/^# \{0,1\}//' ;;
*) check "${1:-$(dirname "$self")/..}" ;;
esac
