#!/usr/bin/env bash
# --compress measured: a 4 KiB CSS file served gzip-compressed from memory
# vs plain by coffeeweb, and by nginx with `gzip on` (which compresses per
# request) vs plain, in the same run. wrk -t1 -c50 -d8s with
# `Accept-Encoding: br, gzip` (or none, for plain); the server pinned to
# core 0, wrk to core 1; CPU per request from the server's utime+stime.
#
# usage: scripts/bench_compress.sh [ROUNDS]     (default 2; needs wrk, nginx, curl, taskset)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
server_cpu=0 client_cpu=1
for tool in wrk nginx curl taskset python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk nginx-light curl util-linux)" >&2; exit 1; }
done
cargo build --release --quiet --bin coffeeweb
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/www" "$work/nginx/logs"
python3 - "$work/www/site.css" <<'PY'
import sys
rules = "".join(f".c{i} {{ color: #{(i * 2654435761) % 0xffffff:06x}; margin: {i % 9}px {i % 5}px; }}\n" for i in range(200))
open(sys.argv[1], "w").write(rules[:4096])
PY
chmod a+rx "$work" "$work/www" && chmod a+r "$work/www/site.css"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port)
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000000;
    include /etc/nginx/mime.types;
    gzip on;
    gzip_types text/css;
    gzip_min_length 1024;
    gzip_vary on;
    server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
NGINX

start() {  # start NAME -> sets pid, url
    case "$1" in
        coffeeweb)
            taskset -c $server_cpu ./target/release/coffeeweb --quiet --listen 127.0.0.1:0 --root "$work/www" --compress > "$work/out" 2>/dev/null &
            pid=$!
            for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.05; done
            url="$(sed 's/.*listening on //' "$work/out")/site.css"
            # The copy is made on the first request, off the loop; wait for it.
            for _ in $(seq 100); do
                curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' "$url" | grep -qi '^content-encoding: gzip' && break
                sleep 0.1
            done
            ;;
        nginx)
            taskset -c $server_cpu nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
            local master=$!
            pids+=("$master")
            for _ in $(seq 100); do pid=$(pgrep -P "$master" | head -1 || true); [ -n "$pid" ] && break; sleep 0.05; done
            url="http://127.0.0.1:$nginx_port/site.css"
            sleep 0.2
            ;;
    esac
    pids+=("$pid")
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '%-10s %-6s %10s %12s %10s %14s\n' server body requests/s "us CPU/req" "body B" "p99 latency"
for round in $(seq "$rounds"); do
    for name in coffeeweb nginx; do
        start "$name"
        for mode in gzip plain; do
            header=()
            [ "$mode" = gzip ] && header=(-H 'Accept-Encoding: br, gzip')
            size=$(curl -s "${header[@]}" "$url" | wc -c)
            before=$(ticks "$pid")
            result=$(taskset -c $client_cpu wrk -t1 -c50 -d8s --latency "${header[@]}" "$url")
            after=$(ticks "$pid")
            requests=$(awk '/requests in/ {print $1}' <<<"$result")
            rps=$(awk '/Requests\/sec/ {print $2}' <<<"$result")
            p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
            cpu=$(python3 -c "print(f'{($after - $before) * 10000 / $requests:.2f}')")
            printf '%-10s %-6s %10s %12s %10s %14s\n' "$name" "$mode" "$rps" "$cpu" "$size" "$p99"
        done
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        pids=()
    done
done
