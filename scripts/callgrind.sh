#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: a
# count of instructions, not a time, so it is repeatable on a noisy machine
# and fit to judge micro-optimisations.
#
# Targets, measured in the same run and the same way:
#   hello    examples/hello (13-byte body)
#   welcome  the binary's built-in welcome page (--quiet)
#   nginx    Debian's nginx, `return 200 "Hello, World!"`, no access log,
#            `master_process off` so that callgrind sees the process that
#            serves (one process, one worker loop)
#
# For each target and each mode (one request at a time; 16 pipelined), the
# server runs under callgrind twice: once answering N requests on one
# keep-alive connection (wrk's request: GET / with Host, User-Agent,
# Accept), once answering none on the same kind of connection. The
# difference divided by N is the cost of a request, start-up, the
# connection and shutdown excluded. Only the `summary:` line of callgrind's
# output is read: its `totals:` line holds the same count again.
#
# usage: scripts/callgrind.sh [N] [TARGET...]   (default 2000, all targets;
#        needs valgrind, python3, nginx for the nginx target)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
shift || true
targets=${*:-hello welcome nginx}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
case " $targets " in
    *" nginx "*) command -v nginx >/dev/null || { echo "needs nginx (apt-get install nginx-light)" >&2; exit 1; } ;;
esac
cargo build --release --quiet --bin coffeeweb --example hello
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=scripts/hello_peers.sh
. scripts/hello_peers.sh

# command_for TARGET PORT
command_for() {
    case "$1" in
        hello) echo "./target/release/examples/hello --listen 127.0.0.1:$2" ;;
        welcome) echo "./target/release/coffeeweb --quiet --listen 127.0.0.1:$2" ;;
        nginx) nginx_hello "$work/nginx" "$2" ;;
        *) echo "unknown target: $1" >&2; exit 2 ;;
    esac
}

# total_instructions TARGET REQUESTS DEPTH
total_instructions() {
    local requests=$2 depth=$3 port command
    rm -f "$work/out"
    port=$(free_port)
    command=$(command_for "$1" "$port")
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$work/out" $command > /dev/null 2>&1 &
    local pid=$!
    until listening "$port"; do sleep 0.1; done
    python3 scripts/requests.py "$port" "$requests" "$depth"
    stop_server "$pid" "$work/out"
    awk '/^summary:/ {print $2}' "$work/out"
}

printf '%-12s %-16s %20s\n' target mode instructions/request
for name in $targets; do
    for depth in 1 16; do
        base=$(total_instructions "$name" 0 "$depth")
        full=$(total_instructions "$name" "$n" "$depth")
        mode=$([ "$depth" = 1 ] && echo "one at a time" || echo "pipelined x16")
        printf '%-12s %-16s %20d\n' "$name" "$mode" $(( (full - base) / n ))
    done
done
