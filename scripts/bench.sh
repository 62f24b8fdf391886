#!/usr/bin/env bash
# Side-by-side benchmark: coffeeweb against nginx on the same machine, in
# the same run, servers pinned to one core and wrk to another.
#
#   S1  keep-alive, -c100, 13-byte body           (examples/hello vs `return 200`)
#   S2  16-deep pipelining, -c100, 13-byte body
#   S3  a new connection per request, -c50
#   S4  a 1 MiB static file, keep-alive, -c10     (coffeeweb --root vs nginx root)
#   S5  10,000 idle keep-alive connections: memory per connection
#
# Scenarios are interleaved (coffeeweb, nginx, coffeeweb, nginx, ...) for
# --rounds rounds; the table shows medians. Results go to OUT/results.csv
# (every run) and OUT/summary.csv, and a chart to OUT/chart.svg.
#
# usage: scripts/bench.sh [--duration SECS] [--rounds N] [--scenarios S1,S2,...]
#                         [--out DIR] [--quick] [--server-cpu N] [--client-cpu N]
# needs: wrk and nginx (Debian: apt-get install wrk nginx-light), python3,
#        taskset (util-linux). Nothing is installed by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 rounds=3 scenarios=S1,S2,S3,S4,S5 out=bench-results
server_cpu=0 client_cpu=1 idle_connections=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --server-cpu) server_cpu=$2; shift 2 ;;
        --client-cpu) client_cpu=$2; shift 2 ;;
        --quick) duration=3; rounds=1; idle_connections=2000; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done

missing=""
for tool in wrk nginx python3 taskset; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "missing:$missing -- on Debian: apt-get install wrk nginx-light python3 util-linux" >&2
    exit 1
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "building (release)..." >&2
cargo build --release --quiet --bin coffeeweb --example hello
mkdir -p "$out" "$work/www" "$work/nginx/logs"
head -c $((1024 * 1024)) /dev/urandom > "$work/www/1mib.bin"
# nginx's workers run as an unprivileged user when started as root.
chmod a+rx "$work" "$work/www" && chmod a+r "$work/www/1mib.bin"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One nginx for every scenario: 1 worker, no access log, sendfile.
nginx_port=$(free_port)
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 32768;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
# Enough for S5's 10,000 idle connections and no more: nginx touches the
# memory of every connection slot at start, so a larger number would only
# inflate its RSS.
events { worker_connections 12000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        root $work/www;
        location = / { return 200 "Hello, World!"; }
        location /files/ { alias $work/www/; }
    }
}
NGINX

# start_server NAME: starts it pinned to the server core; sets $pid (the
# process doing the work) and $url_base.
start_server() {
    case "$1" in
        coffeeweb-hello)
            taskset -c "$server_cpu" ./target/release/examples/hello --listen 127.0.0.1:0 > "$work/out" &
            pid=$!
            ;;
        coffeeweb-files)
            taskset -c "$server_cpu" ./target/release/coffeeweb --quiet --listen 127.0.0.1:0 --root "$work/www" > "$work/out" 2>/dev/null &
            pid=$!
            ;;
        nginx)
            taskset -c "$server_cpu" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
            local master=$!
            pids+=("$master")
            for _ in $(seq 100); do
                pid=$(pgrep -P "$master" | head -1 || true)
                [ -n "$pid" ] && break
                sleep 0.05
            done
            url_base="http://127.0.0.1:$nginx_port"
            pids+=("$pid")
            sleep 0.2
            return
            ;;
    esac
    pids+=("$pid")
    for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.05; done
    url_base=$(sed 's/.*listening on //' "$work/out")
}

stop_servers() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# run_wrk SCENARIO URL -> prints "requests rps p50 p99 bytes_per_sec"
run_wrk() {
    local scenario=$1 url=$2 args=()
    case "$scenario" in
        S1) args=(-c100) ;;
        S2) args=(-c100 -s scripts/pipeline.lua) ;;
        S3) args=(-c50 -H "Connection: close") ;;
        S4) args=(-c10) ;;
    esac
    taskset -c "$client_cpu" wrk -t1 -d"${duration}s" --latency "${args[@]}" "$url" > "$work/wrk.txt" 2>&1
    python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def latency(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)" % label, text, re.M)
    if not m: return ""
    value, unit = float(m.group(1)), m.group(2)
    return str(value * {"us": 1, "ms": 1000, "s": 1e6}[unit])
requests = re.search(r"(\d+) requests in", text).group(1)
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text)
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
bytes_per_sec = float(transfer.group(1)) * scale.get(transfer.group(2), 1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", text)
if errors: print("wrk reported errors: " + errors.group(0), file=sys.stderr)
print(requests, rps, latency("50"), latency("99"), int(bytes_per_sec))
PY
}

url_for() {
    case "$1" in
        S4) [ "$2" = nginx ] && echo "$url_base/files/1mib.bin" || echo "$url_base/1mib.bin" ;;
        *) echo "$url_base/" ;;
    esac
}

server_name() {
    case "$1:$2" in
        S4:coffeeweb|S5:coffeeweb) echo coffeeweb-files ;;
        *:coffeeweb) echo coffeeweb-hello ;;
        *) echo nginx ;;
    esac
}

results="$out/results.csv"
echo "scenario,server,round,requests,rps,p50_us,p99_us,bytes_per_sec,cpu_us_per_request,peak_rss_kib,idle_bytes_per_connection,rss_before_kib,rss_after_close_kib" > "$results"

for round in $(seq "$rounds"); do
    for scenario in ${scenarios//,/ }; do
        for server in coffeeweb nginx; do
            start_server "$(server_name "$scenario" "$server")"
            if [ "$scenario" = S5 ]; then
                read -r before idle after per_connection < <(
                    taskset -c "$client_cpu" python3 scripts/idle_clients.py 127.0.0.1 "${url_base##*:}" "$pid" "$idle_connections")
                echo "$scenario,$server,$round,,,,,,,$(peak_rss_kib "$pid"),$per_connection,$before,$after" >> "$results"
                echo "round $round $scenario $server: $per_connection bytes per idle connection (RSS $before -> $idle -> $after KiB)" >&2
            else
                ticks_before=$(cpu_ticks "$pid")
                read -r requests rps p50 p99 bps < <(run_wrk "$scenario" "$(url_for "$scenario" "$server")")
                ticks=$(( $(cpu_ticks "$pid") - ticks_before ))
                cpu_us=$(python3 -c "print(round($ticks * 1e6 / $(getconf CLK_TCK) / max($requests, 1), 2))")
                echo "$scenario,$server,$round,$requests,$rps,$p50,$p99,$bps,$cpu_us,$(peak_rss_kib "$pid"),,," >> "$results"
                echo "round $round $scenario $server: $rps req/s, p50 ${p50}us, p99 ${p99}us, $cpu_us us CPU/req" >&2
            fi
            stop_servers
        done
    done
done

python3 scripts/bench_report.py "$results" "$out"
