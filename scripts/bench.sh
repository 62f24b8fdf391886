#!/usr/bin/env bash
# Side-by-side benchmark: coffeeweb against nginx on the same machine, in
# the same run, servers pinned to one core and wrk to another.
#
#   S1  keep-alive, -c100, 13-byte body           (examples/hello vs `return 200`;
#       also the binary: `coffeeweb --httpbin / -q` serving /bytes/13
#       (coffeeweb-bytes13), and the welcome page with --quiet
#       (coffeeweb-quiet) and with `--access-log-format combined
#       --access-log FILE` (coffeeweb-combined))
#   S2  16-deep pipelining, -c100, 13-byte body   (hello, coffeeweb-bytes13)
#   S3  a new connection per request, -c50
#   S4  a 1 MiB static file, keep-alive, -c10     (coffeeweb --root vs nginx root)
#   S5  10,000 idle keep-alive connections: memory per connection
#   S6  5,000 connections, each request answered 100 ms later by a timer
#       (examples/delay, and `coffeeweb --httpbin / -q` at /delay/100ms
#       (coffeeweb-httpbin), vs Node.js setTimeout vs nginx echo_sleep);
#       the bound is 5,000 / 0.1 s = 50,000 requests/s
#   S7  10,000 Server-Sent Events subscribers, one broadcast a second for
#       --sse-duration seconds: events delivered, delivery latency from
#       publish, memory per subscriber (examples/sse vs Node.js)
#
# Scenarios are interleaved (coffeeweb, its variants, nginx, coffeeweb,
# ...; S6 and S7 with Node.js too) for --rounds rounds; the table shows
# medians.
# Results go to OUT/results.csv (every run, with the load average at its
# start) and OUT/summary.csv, and a chart to OUT/chart.svg.
#
# usage: scripts/bench.sh [--duration SECS] [--rounds N] [--scenarios S1,S2,...]
#                         [--sse-duration SECS] [--out DIR] [--quick]
#                         [--server-cpu N] [--client-cpu N]
# needs: wrk and nginx (Debian: apt-get install wrk nginx-light), python3,
#        taskset (util-linux); for S6 and S7 also nodejs, and for S6
#        libnginx-mod-http-echo. Nothing is installed by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 rounds=3 scenarios=S1,S2,S3,S4,S5,S6,S7 out=bench-results
server_cpu=0 client_cpu=1 idle_connections=10000
delay_connections=5000 sse_subscribers=10000 sse_duration=60
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --sse-duration) sse_duration=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --server-cpu) server_cpu=$2; shift 2 ;;
        --client-cpu) client_cpu=$2; shift 2 ;;
        --quick) duration=3; rounds=1; idle_connections=2000; sse_subscribers=2000; sse_duration=10; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done

wants() { [[ ",$scenarios," == *",$1,"* ]]; }
# Debian's libnginx-mod-http-echo puts the module here.
echo_module=/usr/lib/nginx/modules/ngx_http_echo_module.so
missing=""
for tool in wrk nginx python3 taskset; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if wants S6 || wants S7; then command -v node >/dev/null || missing="$missing nodejs"; fi
if wants S6 && [ ! -e "$echo_module" ]; then missing="$missing libnginx-mod-http-echo"; fi
if [ -n "$missing" ]; then
    echo "missing:$missing -- on Debian: apt-get install wrk nginx-light python3 util-linux nodejs libnginx-mod-http-echo" >&2
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
cargo build --release --quiet --bin coffeeweb --example hello --example delay --example sse
mkdir -p "$out" "$work/www" "$work/nginx/logs"
head -c $((1024 * 1024)) /dev/urandom > "$work/www/1mib.bin"
# nginx's workers run as an unprivileged user when started as root.
chmod a+rx "$work" "$work/www" && chmod a+r "$work/www/1mib.bin"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One nginx for every scenario: 1 worker, no access log, sendfile. S6's
# (nginx-echo.conf) loads the echo module too, and answers /delay with
# echo_sleep; the others do not load it.
nginx_port=$(free_port)
nginx_conf() { # LOAD_MODULE_LINE EXTRA_LOCATION
cat <<NGINX
$1
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
        $2
    }
}
NGINX
}
nginx_conf "" "" > "$work/nginx/nginx.conf"
nginx_conf "load_module $echo_module;" \
    'location = /delay { default_type text/plain; echo_sleep 0.1; echo -n "Hello, World!"; }' \
    > "$work/nginx/nginx-echo.conf"

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
        coffeeweb-bytes13|coffeeweb-httpbin)
            taskset -c "$server_cpu" ./target/release/coffeeweb --quiet --httpbin / --listen 127.0.0.1:0 > "$work/out" 2>/dev/null &
            pid=$!
            ;;
        coffeeweb-quiet)
            taskset -c "$server_cpu" ./target/release/coffeeweb --quiet --listen 127.0.0.1:0 > "$work/out" 2>/dev/null &
            pid=$!
            ;;
        coffeeweb-combined)
            rm -f "$work/access.log"
            taskset -c "$server_cpu" ./target/release/coffeeweb --access-log-format combined --access-log "$work/access.log" \
                --listen 127.0.0.1:0 > "$work/out" 2>/dev/null &
            pid=$!
            ;;
        coffeeweb-delay|coffeeweb-sse)
            taskset -c "$server_cpu" "./target/release/examples/${1#coffeeweb-}" --listen 127.0.0.1:0 > "$work/out" &
            pid=$!
            ;;
        node-delay|node-sse)
            taskset -c "$server_cpu" node "scripts/${1#node-}_server.js" 0 > "$work/out" &
            pid=$!
            ;;
        nginx|nginx-echo)
            taskset -c "$server_cpu" nginx -p "$work/nginx" -c "$work/nginx/$1.conf" -e "$work/nginx/logs/error.log" &
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
    for _ in $(seq 200); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.05; done
    url_base=$(sed 's/.*listening on //' "$work/out")
}

stop_servers() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
    # coffeeweb-combined's log: a run writes ~100 MB of it.
    rm -f "$work/access.log"
}

# utime + stime, and stime alone (the kernel's share), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
# per_request TICKS REQUESTS -> microseconds per request
per_request() { python3 -c "print(round($1 * 1e6 / $(getconf CLK_TCK) / max($2, 1), 2))"; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

load_average() { cut -d' ' -f1 /proc/loadavg; }

# run_wrk SCENARIO URL -> prints "requests rps p50 p99 bytes_per_sec timeouts errors"
run_wrk() {
    local scenario=$1 url=$2 args=()
    case "$scenario" in
        S1) args=(-c100) ;;
        S2) args=(-c100 -s scripts/pipeline.lua) ;;
        S3) args=(-c50 -H "Connection: close") ;;
        S4) args=(-c10) ;;
        S6) args=(-c"$delay_connections" --timeout 5s) ;;
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
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
timeouts = int(socket.group(4)) if socket else 0
failed = sum(int(socket.group(i)) for i in (1, 2, 3)) if socket else 0
non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
failed += int(non_2xx.group(1)) if non_2xx else 0
print(requests, rps, latency("50"), latency("99"), int(bytes_per_sec), timeouts, failed)
PY
}

# url_for SCENARIO SERVER (a name from servers_for)
url_for() {
    case "$1:$2" in
        S4:nginx) echo "$url_base/files/1mib.bin" ;;
        S4:*) echo "$url_base/1mib.bin" ;;
        S6:coffeeweb-httpbin) echo "$url_base/delay/100ms" ;;
        S6:*) echo "$url_base/delay" ;;
        *:coffeeweb-bytes13) echo "$url_base/bytes/13" ;;
        *) echo "$url_base/" ;;
    esac
}

server_name() {
    case "$1:$2" in
        S4:coffeeweb|S5:coffeeweb) echo coffeeweb-files ;;
        S6:coffeeweb) echo coffeeweb-delay ;;
        S6:node) echo node-delay ;;
        S6:nginx) echo nginx-echo ;;
        S7:*) echo "$2-sse" ;;
        *:coffeeweb) echo coffeeweb-hello ;;
        *:coffeeweb-*) echo "$2" ;;
        *) echo nginx ;;
    esac
}

servers_for() {
    case "$1" in
        S1) echo coffeeweb coffeeweb-bytes13 coffeeweb-quiet coffeeweb-combined nginx ;;
        S2) echo coffeeweb coffeeweb-bytes13 nginx ;;
        S6) echo coffeeweb coffeeweb-httpbin node nginx ;;
        S7) echo coffeeweb node ;;
        *) echo coffeeweb nginx ;;
    esac
}

results="$out/results.csv"
echo "scenario,server,round,requests,rps,p50_us,p99_us,bytes_per_sec,cpu_us_per_request,peak_rss_kib,idle_bytes_per_connection,rss_before_kib,rss_after_close_kib,timeouts,errors,subscribers,events_expected,events_delivered,max_us,bytes_per_subscriber,rss_end_kib,client_lag_ms,load_average,sys_us_per_request" > "$results"

for round in $(seq "$rounds"); do
    for scenario in ${scenarios//,/ }; do
        for server in $(servers_for "$scenario"); do
            start_server "$(server_name "$scenario" "$server")"
            load=$(load_average)
            if [ "$scenario" = S5 ]; then
                read -r before idle after per_connection < <(
                    taskset -c "$client_cpu" python3 scripts/idle_clients.py 127.0.0.1 "${url_base##*:}" "$pid" "$idle_connections")
                echo "$scenario,$server,$round,,,,,,,$(peak_rss_kib "$pid"),$per_connection,$before,$after,,,,,,,,,,$load," >> "$results"
                echo "round $round $scenario $server: $per_connection bytes per idle connection (RSS $before -> $idle -> $after KiB; load $load)" >&2
            elif [ "$scenario" = S7 ]; then
                read -r subscribers expected delivered p50 p99 max before end per_subscriber cpu_us dropped lag < <(
                    taskset -c "$client_cpu" python3 scripts/sse_clients.py 127.0.0.1 "${url_base##*:}" "$pid" "$sse_subscribers" "$sse_duration")
                echo "$scenario,$server,$round,,,$p50,$p99,,$cpu_us,$(peak_rss_kib "$pid"),,$before,,,$dropped,$subscribers,$expected,$delivered,$max,$per_subscriber,$end,$lag,$load," >> "$results"
                echo "round $round $scenario $server: $delivered of $expected events, p50 ${p50}us, p99 ${p99}us, $per_subscriber B/subscriber, $cpu_us us CPU/event, $dropped dropped (load $load)" >&2
            else
                ticks_before=$(cpu_ticks "$pid") sys_before=$(sys_ticks "$pid")
                read -r requests rps p50 p99 bps timeouts errors < <(run_wrk "$scenario" "$(url_for "$scenario" "$server")")
                ticks=$(( $(cpu_ticks "$pid") - ticks_before )) sys=$(( $(sys_ticks "$pid") - sys_before ))
                cpu_us=$(per_request "$ticks" "$requests") sys_us=$(per_request "$sys" "$requests")
                echo "$scenario,$server,$round,$requests,$rps,$p50,$p99,$bps,$cpu_us,$(peak_rss_kib "$pid"),,,,$timeouts,$errors,,,,,,,,$load,$sys_us" >> "$results"
                echo "round $round $scenario $server: $rps req/s, p50 ${p50}us, p99 ${p99}us, $cpu_us us CPU/req ($sys_us in the kernel), $timeouts timeouts, $errors errors (load $load)" >&2
            fi
            stop_servers
        done
    done
done

python3 scripts/bench_report.py "$results" "$out"
