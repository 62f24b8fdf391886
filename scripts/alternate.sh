#!/usr/bin/env bash
# Two coffeeweb targets compared in alternating slices: a paired A/B test
# for differences of a few percent, which bench.sh's ten-second rounds
# cannot show on a VM whose S1 rate drifts by tens of percent from one
# minute to the next.
#
# Both servers run at once, pinned to the same core (only the one wrk is
# driving is busy); wrk, on the other core, drives A then B (B then A in
# every other pair, so neither always goes first) for SECONDS each. A drift
# of the machine then moves both sides of a pair alike, and the ratio of
# each pair keeps what is left: the difference between the two.
#
# Targets:
#   hello     examples/hello, GET /
#   bytes13   coffeeweb --quiet --httpbin /, GET /bytes/13
#   quiet     coffeeweb --quiet, the welcome page
#   combined  coffeeweb --access-log-format combined --access-log FILE,
#             the welcome page
#
# Prints each pair, then B/A: the ratio of the summed rates, and the
# median of the pairs' ratios with its 95% interval. The interval is the
# distribution-free one (between the order statistics a binomial(n, 1/2)
# puts 2.5% beyond on either side), not mean ± 1.96 standard errors: one
# slice that stalls (seen: 19k req/s among 150k) would widen that one by
# tens of percent and move the mean, not the median.
#
# usage: scripts/alternate.sh [--scenario S1|S2] [--pairs N] [--seconds S]
#                             [--server-cpu N] [--client-cpu N] A B
#        (default S1, 30 pairs of 3 s; S2 is 16-deep pipelining)
# needs: wrk, python3, taskset
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=S1 pairs=30 seconds=3 server_cpu=0 client_cpu=1
while [ $# -gt 2 ]; do
    case "$1" in
        --scenario) scenario=$2; shift 2 ;;
        --pairs) pairs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --server-cpu) server_cpu=$2; shift 2 ;;
        --client-cpu) client_cpu=$2; shift 2 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
if [ $# -ne 2 ]; then sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; fi
for tool in wrk python3 taskset; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
cargo build --release --quiet --bin coffeeweb --example hello
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# shellcheck source=scripts/hello_peers.sh
. scripts/hello_peers.sh

# start TARGET: starts it on a free port; sets $url. (Not in a `$(...)`:
# the pid must reach the trap of this shell.)
start() {
    local port path=/ command
    port=$(free_port)
    case "$1" in
        hello) command=(./target/release/examples/hello) ;;
        bytes13) command=(./target/release/coffeeweb --quiet --httpbin /) path=/bytes/13 ;;
        quiet) command=(./target/release/coffeeweb --quiet) ;;
        combined) command=(./target/release/coffeeweb --access-log-format combined --access-log "$work/$1.log") ;;
        *) echo "unknown target: $1" >&2; exit 2 ;;
    esac
    taskset -c "$server_cpu" "${command[@]}" --listen "127.0.0.1:$port" > /dev/null 2>&1 &
    pids+=($!)
    url=http://127.0.0.1:$port$path
}

a=$1 b=$2
start "$a"; url_a=$url
start "$b"; url_b=$url
for url in "$url_a" "$url_b"; do
    port=${url#http://127.0.0.1:}
    until listening "${port%%/*}"; do sleep 0.1; done
done

args=(-t1 -c100 "-d${seconds}s")
[ "$scenario" = S2 ] && args+=(-s scripts/pipeline.lua)
rate() { taskset -c "$client_cpu" wrk "${args[@]}" "$1" | awk '/^Requests\/sec/ {print $2}'; }

printf '%-5s %12s %12s\n' pair "$a" "$b"
for pair in $(seq "$pairs"); do
    if [ $((pair % 2)) = 1 ]; then
        rate_a=$(rate "$url_a"); rate_b=$(rate "$url_b")
    else
        rate_b=$(rate "$url_b"); rate_a=$(rate "$url_a")
    fi
    printf '%-5s %12s %12s\n' "$pair" "$rate_a" "$rate_b" | tee -a "$work/pairs"
done

python3 - "$work/pairs" "$a" "$b" "$scenario" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import math, statistics, sys
path, a, b, scenario, load = sys.argv[1:]
pairs = [tuple(map(float, line.split()[1:])) for line in open(path)]
ratios = sorted(y / x for x, y in pairs)
n = len(ratios)
# The largest k with P(Binomial(n, 1/2) < k) <= 2.5%: the median lies
# between the k-th smallest and the k-th largest ratio with 95% confidence.
below = lambda k: sum(math.comb(n, i) for i in range(k)) / 2**n
k = max((k for k in range(1, n // 2 + 1) if below(k) <= 0.025), default=None)
interval = f"{ratios[k - 1]:.3f} to {ratios[n - k]:.3f}" if k else "too few pairs"
print(f"{scenario} {b}/{a} over {n} pairs (load {load}): "
      f"ratio of sums {sum(y for _, y in pairs) / sum(x for x, _ in pairs):.3f}, "
      f"median ratio {statistics.median(ratios):.3f} (95%: {interval}); "
      f"median rates {a} {statistics.median(x for x, _ in pairs):,.0f}, "
      f"{b} {statistics.median(y for _, y in pairs):,.0f} req/s")
PY
