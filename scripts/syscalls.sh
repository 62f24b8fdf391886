#!/usr/bin/env bash
# System calls per request (S1 keep-alive, S2 pipelined x16) and per
# connection (S3, `Connection: close`), for examples/hello and Debian's
# nginx (`return 200 "Hello, World!"`, one worker, no access log) in the
# same run, each server pinned to one core and the client to the other.
#
# Two clients:
#   exact  one connection, one request at a time (S1), 16 at a time (S2),
#          or one connection per request one after another (S3), from
#          scripts/requests.py; the server is traced with strace, which
#          also gives the epoll events each epoll_wait returned. The counts
#          are exact and repeatable, and show what a lone client costs.
#   wrk    wrk -c100 (S1, S2 with scripts/pipeline.lua) or -c50 (S3),
#          counted with `perf stat -e 'syscalls:sys_enter_*'`: what a
#          loaded server costs (epoll_wait is amortised over many events).
#
# usage: scripts/syscalls.sh [exact|wrk] [N or SECONDS]
#        (defaults: exact 2000; wrk 5; needs strace or perf, wrk, nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
client=${1:-exact}
amount=${2:-$([ "$client" = exact ] && echo 2000 || echo 5)}
cargo build --release --quiet --example hello
work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/hello_peers.sh
. scripts/hello_peers.sh

# start SERVER PORT: sets server_pid.
start() {
    case "$1" in
        coffeeweb) taskset -c 0 ./target/release/examples/hello --listen "127.0.0.1:$2" > /dev/null & ;;
        nginx)
            # shellcheck disable=SC2046
            taskset -c 0 $(nginx_hello "$work/nginx" "$2") & ;;
    esac
    server_pid=$!
    until listening "$2"; do sleep 0.05; done
}

stop() {
    stop_server "$server_pid"
    server_pid=""
}

# exact_client SCENARIO PORT N
exact_client() {
    case "$1" in
        S1) taskset -c 1 python3 scripts/requests.py "$2" "$3" 1 ;;
        S2) taskset -c 1 python3 scripts/requests.py "$2" "$3" 16 ;;
        S3) taskset -c 1 python3 - "$2" "$3" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: wrk\r\nAccept: */*\r\nConnection: close\r\n\r\n" % port
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    while s.recv(65536):
        pass
    s.close()
PY
        ;;
    esac
}

# wrk_client SCENARIO PORT SECONDS: prints the number of requests.
wrk_client() {
    local args
    case "$1" in
        S1) args=(-c100) ;;
        S2) args=(-c100 -s scripts/pipeline.lua) ;;
        S3) args=(-c50 -H "Connection: close") ;;
    esac
    taskset -c 1 wrk -t1 -d"$3s" "${args[@]}" "http://127.0.0.1:$2/" > "$work/wrk.txt"
    grep -oE '^ *[0-9]+ requests in' "$work/wrk.txt" | grep -oE '[0-9]+'
}

printf '%-10s %-4s %-11s %s\n' server case per counts
for scenario in S1 S2 S3; do
    for server in coffeeweb nginx; do
        port=$(free_port)
        start "$server" "$port"
        if [ "$client" = exact ]; then
            strace -f -qq -o "$work/trace" -p "$server_pid" &
            tracer=$!
            sleep 0.5
            exact_client "$scenario" "$port" "$amount"
            sleep 0.3
            n=$amount
        else
            perf stat -x, -o "$work/trace" -e 'syscalls:sys_enter_*' -p "$server_pid" &
            tracer=$!
            sleep 0.5
            n=$(wrk_client "$scenario" "$port" "$amount")
        fi
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        stop
        per=$([ "$scenario" = S3 ] && echo connection || echo request)
        python3 - "$client" "$work/trace" "$n" "$server" "$scenario" "$per" <<'PY'
import collections, re, sys
client, path, n, server, scenario, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:]
calls, failed, events = collections.Counter(), collections.Counter(), 0
for line in open(path):
    if client == "exact":
        m = re.match(r"\d+\s+(\w+)\(.*\)\s+=\s+(-?\d+|\?)(?:\s+(E\w+))?", line)
        if not m:
            continue
        calls[m[1]] += 1
        if m[3]:
            failed[f"{m[1]} {m[3]}"] += 1
        if m[1].startswith("epoll_") and "wait" in m[1] and m[2].isdigit():
            events += int(m[2])
    else:
        fields = line.strip().split(",")
        if len(fields) > 2 and fields[0].isdigit() and int(fields[0]) > 0:
            calls[fields[2].replace("syscalls:sys_enter_", "")] += int(fields[0])
# Rounded to a tenth of a call per thousand: start-up noise below that.
shown = {k: c / n for k, c in calls.items() if c / n >= 0.0005}
text = " ".join(f"{k} {v:.3f}" for k, v in sorted(shown.items(), key=lambda kv: -kv[1]))
total = sum(calls.values()) / n
extra = f"; epoll events {events / n:.3f}" if client == "exact" else ""
extra += "".join(f"; {k} {c / n:.3f}" for k, c in failed.items() if c / n >= 0.0005)
print(f"{server:10s} {scenario:4s} {per:11s} total {total:.3f}: {text}{extra}")
PY
    done
done
