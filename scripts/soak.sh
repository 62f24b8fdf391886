#!/usr/bin/env bash
# Soak: the echo server (examples/echo, release) under well-behaved clients
# whose every byte is checked, then the same clients beside attackers, for
# a bounded time; a summary at the end. Client driver: scripts/soak.py.
# What runs and what is checked: docs/SOAK.md.
#
# usage: scripts/soak.sh [--minutes N] [--quick] [--netem] [--id N] [--out DIR]
#   --minutes N  total run, baseline included (default 10)
#   --quick      one minute (CI)
#   --netem      server and clients in two network namespaces joined by the
#                lossy link of scripts/netem.sh (needs root and iproute2)
#   --id N       which link/namespace pair (default 0; for runs side by side)
#   --out DIR    where summary.json, summary.txt and server.log go
#                (default soak-results/DATE)
# Exit status 0 when no well-behaved byte was wrong or lost, no hostile
# request got a wrong status, the server's descriptors and RSS came back to
# their start, it logged no ERROR, and it exited 0 at SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10 netem=0 id=0 out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --quick) minutes=1; shift ;;
        --netem) netem=1; shift ;;
        --id) id=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
out=${out:-soak-results/$(date -u +%Y%m%dT%H%M%SZ)$([ $netem = 1 ] && echo -netem)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

seconds=$(python3 -c "print(int(float('$minutes') * 60))")
# A baseline of well-behaved clients alone: 15 s, or 5% of a long run.
baseline=$(python3 -c "print(max(15, min(180, $seconds // 20)))")
max_connections=1500
# RSS may end above its start by what the server keeps on purpose: the
# buffer pool (16 x 16 KiB input + 16 x 128 KiB output = 2.25 MiB), the
# connection slab, which keeps the capacity of its peak (~1 KiB a slot at
# 1,500 + the flood's slots), and what glibc's allocator holds in its free
# lists after a peak of ~1,500 buffered connections. A leak grows with the
# run's length; this does not.
rss_tolerance_kib=$((8 * 1024))

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -9 "$server_pid" 2>/dev/null || true; fi
    if [ $netem = 1 ]; then scripts/netem.sh down --id "$id" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "building examples/echo (release)..." >&2
cargo build --release --quiet --example echo

echo "making the files to download..." >&2
mkdir -p "$work/www"
chmod a+rx "$work" "$work/www"
python3 - "$work/www" "$work/files.json" <<'PY'
import hashlib, json, os, random, sys
root, out = sys.argv[1], sys.argv[2]
files = []
rng = random.Random(42)
for name, size in [("1k.bin", 1024), ("16k.bin", 16 * 1024), ("17k.bin", 17 * 1024),
                   ("100k.bin", 100 * 1024), ("1m.bin", 1 << 20), ("10m.bin", 10 << 20),
                   ("50m.bin", 50 << 20)]:
    data = rng.randbytes(size)
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
    files.append({"name": name, "size": size, "sha256": hashlib.sha256(data).hexdigest()})
json.dump(files, open(out, "w"))
PY

# Enough descriptors for 1,000 slowloris + a flood past --max-connections,
# on both sides.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 8192 ] || { echo "soak needs 8192 open files (ulimit -Hn is $(ulimit -Hn))" >&2; exit 1; }

if [ $netem = 1 ]; then
    scripts/netem.sh up --id "$id" >&2
    host=10.200.$id.1 port=8080
    ip netns exec "cw$id-srv" ./target/release/examples/echo --listen "$host:$port" --root "$work/www" \
        --max-connections $max_connections > "$work/stdout" 2> "$out/server.log" &
    server_pid=$!
    client=(ip netns exec "cw$id-cli")
    io_timeout=180
else
    ./target/release/examples/echo --listen 127.0.0.1:0 --root "$work/www" \
        --max-connections $max_connections > "$work/stdout" 2> "$out/server.log" &
    server_pid=$!
    client=()
    io_timeout=60
fi
for _ in $(seq 100); do grep -q listening "$work/stdout" 2>/dev/null && break; sleep 0.05; done
grep -q listening "$work/stdout" || { echo "the server did not start: $(cat "$out/server.log")" >&2; exit 1; }
url=$(sed 's/.*listening on http:\/\///' "$work/stdout")
host=${url%:*} port=${url##*:}

echo "soak: $minutes min ($baseline s baseline) against pid $server_pid at $host:$port$([ $netem = 1 ] && echo ' over the lossy link')" >&2
set +e
"${client[@]}" python3 scripts/soak.py --host "$host" --port "$port" --pid "$server_pid" \
    --files "$work/files.json" --seconds "$seconds" --baseline "$baseline" \
    --max-connections $max_connections --rss-tolerance-kib $rss_tolerance_kib \
    --io-timeout $io_timeout --out "$out/summary.json"
driver=$?
set -e

server_alive=1
kill -0 "$server_pid" 2>/dev/null || server_alive=0
exit_status=died
if [ $server_alive = 1 ]; then
    kill -TERM "$server_pid"
    set +e
    wait "$server_pid"
    exit_status=$?
    set -e
fi
server_pid=""

python3 - "$out" "$driver" "$exit_status" "$minutes" "$netem" <<'PY' | tee "$out/summary.txt"
import json, sys
out, driver, exit_status, minutes, netem = sys.argv[1:]
try:
    s = json.load(open(f"{out}/summary.json"))
except (OSError, ValueError):
    s = None
log = [l.rstrip("\n") for l in open(f"{out}/server.log", errors="replace")]
bad = [l for l in log if " WARN " in l or " ERROR " in l or "panicked" in l]
errors = [l for l in log if " ERROR " in l or "panicked" in l]
print(f"soak: {minutes} min{' over the lossy link (netem)' if netem == '1' else ' on loopback'}")
if s is None:
    print(f"no summary: the driver exited {driver}")
else:
    print(f"ran {s['seconds']} s; well-behaved exchanges ok: {s['well_behaved']['ok']}, "
          f"wrong or lost: {s['well_behaved']['wrong_or_lost']}; hostile requests misanswered: {s['hostile_misanswered']}")
    for f in s["well_behaved"]["failures"]:
        print(f"  FAILED {f}")
    print("outcomes:")
    for k, v in s["outcomes"].items():
        print(f"  {k:50} {v}")
    lat = s["latency_ms"]
    print("well-behaved latency of small exchanges (ms; keep-alive, pipelined x8, HTTP/1.0): "
          + ", ".join(f"{p} n={v['n']} p50={v['p50']} p99={v['p99']}" for p, v in lat.items()))
    r, d = s["server"]["rss_kib"], s["server"]["fds"]
    print(f"server RSS KiB: start {r['start']}, after baseline {r['after_baseline']}, peak {r['peak']}, "
          f"end {r['end']} (tolerance {r['tolerance']}: {'back' if r['back'] else 'NOT BACK'})")
    print(f"server fds: start {d['start']}, after baseline {d['after_baseline']}, peak {d['peak']}, "
          f"end {d['end']} ({'back' if d['back'] else 'NOT BACK'})")
    print(f"server CPU: {s['server']['cpu_seconds']} s ({s['server']['cpu_percent_of_one_core']}% of one core)")
print(f"server exit at SIGTERM: {exit_status}")
print(f"server WARN/ERROR lines: {len(bad)}")
for l in bad[:200]:
    print(f"  {l}")
ok = s is not None and s["pass"] and driver == "0" and exit_status == "0" and not errors
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
