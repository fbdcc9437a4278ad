#!/usr/bin/env bash
# bench/lib.sh - what the benchmark scripts share: messages, port checks, the temporary folder
# and the processes started in it (stopped on exit), waiting for HTTP, RSS, medians. Sourced;
# the script sets BENCH_NAME first and appends the pids it starts to pids.

say() {
    echo "$*" >&2
}

die() {
    say "${BENCH_NAME}: $*"
    exit 1
}

port_in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

cleanup() {
    local pid i
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    local hook
    for hook in "${on_exit[@]}"; do
        eval "$hook" || true
    done
    if ((ok || interrupted)); then
        rm -rf "$tmp"
        ((ok)) || say "${BENCH_NAME}: interrupted"
    else
        say "${BENCH_NAME}: failed; logs kept in $tmp"
    fi
}

wait_http() {
    local pid=$1 name=$2 url=$3 log=$4 deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)); do
        curl -fs -o /dev/null --max-time 2 "$url" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            say "${BENCH_NAME}: $name exited before answering $url; last log lines:"
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
    say "${BENCH_NAME}: $name did not answer $url within 20 s; last log lines:"
    tail -n 20 "$log" >&2 || true
    exit 1
}

rss_mb() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024; found = 1 } END { if (!found) printf "?" }' \
        "/proc/$1/status" 2>/dev/null || echo "?"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

join() {
    local IFS=/
    echo "$*"
}

# bench_paths BUILD_ARG: sets repo (the checkout) and build_dir (BUILD_ARG if absolute, else
# relative to the current folder, else to the checkout) and build_arg.
bench_paths() {
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
    build_arg=$1
    case $build_arg in
    /*) build_dir=$build_arg ;;
    *) build_dir=$PWD/$build_arg ;;
    esac
    [ -d "$build_dir" ] || build_dir=$repo/$build_arg
}

# Makes the temporary folder $tmp (removed on success or interrupt, kept with its logs on
# failure) and installs the exit and signal traps that stop every process in pids, then run
# each command in on_exit (for servers that are not our children, like PostgreSQL's).
bench_start() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/threadly-$1.XXXXXX")
    pids=()
    on_exit=()
    ok=0 interrupted=0
    trap cleanup EXIT
    trap 'interrupted=1; exit 130' INT
    trap 'interrupted=1; exit 143' TERM
}
