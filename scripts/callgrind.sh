#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: a
# count of instructions, not a time, so it is repeatable on a noisy machine
# and fit to judge micro-optimisations.
#
# For each target (examples/hello: 13 bytes; the binary's welcome page) and
# each mode (one request at a time; 16 pipelined), the server runs under
# callgrind twice: once answering N requests on one keep-alive connection
# (wrk's request: GET / with Host, User-Agent, Accept), once answering none
# on the same kind of connection. The difference divided by N is the cost
# of a request, start-up and shutdown excluded.
#
# usage: scripts/callgrind.sh [N]        (default 2000; needs valgrind, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release --quiet --bin coffeeweb --example hello
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# total_instructions BINARY_AND_ARGS REQUESTS DEPTH
total_instructions() {
    local requests=$2 depth=$3 port
    rm -f "$work/stdout" "$work/out"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$work/out" $1 --listen "127.0.0.1:$port" \
        > "$work/stdout" 2>/dev/null &
    local pid=$!
    until grep -q listening "$work/stdout" 2>/dev/null; do sleep 0.1; done
    python3 scripts/requests.py "$port" "$requests" "$depth"
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ {print $2}' "$work/out"
}

printf '%-24s %-12s %12s\n' target mode instructions/request
for target in "hello:./target/release/examples/hello" "welcome:./target/release/coffeeweb --quiet"; do
    name=${target%%:*} command=${target#*:}
    for depth in 1 16; do
        base=$(total_instructions "$command" 0 "$depth")
        full=$(total_instructions "$command" "$n" "$depth")
        mode=$([ "$depth" = 1 ] && echo "one at a time" || echo "pipelined x16")
        printf '%-24s %-12s %12d\n' "$name" "$mode" $(( (full - base) / n ))
    done
done
