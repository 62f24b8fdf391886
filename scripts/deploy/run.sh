#!/usr/bin/env bash
# Two coffeeweb instances behind nginx, on loopback. Ctrl-C stops all three.
# usage: scripts/deploy/run.sh [FRONT_PORT]   (needs nginx)
set -euo pipefail
cd "$(dirname "$0")/../.."
front=${1:-8080}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --quiet
start_instance() {
    ./target/release/coffeeweb --quiet --listen 127.0.0.1:0 > "$work/$1.out" &
    pids+=($!)
    until grep -q listening "$work/$1.out" 2>/dev/null; do sleep 0.05; done
    sed 's/.*://' "$work/$1.out"
}
a=$(start_instance a)
b=$(start_instance b)
sed -e "s|PREFIX|$work|g" -e "s|UPSTREAM_A|$a|" -e "s|UPSTREAM_B|$b|" -e "s|FRONT_PORT|$front|" \
    scripts/deploy/nginx.conf > "$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
pids+=($!)
echo "http://127.0.0.1:$front/ -> coffeeweb on ports $a and $b (Ctrl-C to stop)"
wait
