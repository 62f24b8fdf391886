#!/usr/bin/env bash
# A lossy network of our own: two network namespaces joined by one link
# that delays, loses, reorders, duplicates and rate-limits packets. Nothing
# leaves the machine: the addresses exist only inside the two namespaces
# this script creates.
#
#   server namespace  cw<ID>-srv   10.200.<ID>.1
#   client namespace  cw<ID>-cli   10.200.<ID>.2
#
# Each direction: delay 20ms +-10ms, 1% loss, 5% reordering, 1% duplication,
# 100 Mbit/s. The link is a veth pair shaped with `tc qdisc ... netem` where
# the kernel has netem (CONFIG_NET_SCH_NETEM); where it does not (our
# Firecracker VMs and CI), a TUN device in each namespace and
# scripts/lossy_link.py between them, applying the same model in user space.
# NETEM_MODE=kernel|user forces one.
#
# usage: scripts/netem.sh up|down|status [--id N]     (N in 0..99, default 0)
#        scripts/netem.sh exec srv|cli [--id N] -- CMD ARGS...
# `up` and `down` are idempotent (`up` rebuilds a half-made pair). Needs root,
# iproute2 (apt-get install -y iproute2) and, for the user-space link, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,20p' "$0"; exit 2; }

[ $# -ge 1 ] || usage
action=$1; shift
side=""
if [ "$action" = exec ]; then
    [ $# -ge 1 ] || usage
    side=$1; shift
fi
id=0
while [ $# -gt 0 ]; do
    case "$1" in
        --id) id=$2; shift 2 ;;
        --) shift; break ;;
        *) [ "$action" = exec ] && break; usage ;;
    esac
done
case "$id" in ''|*[!0-9]*) echo "--id takes a number 0..99" >&2; exit 2 ;; esac
[ "$id" -le 99 ] || { echo "--id takes a number 0..99" >&2; exit 2; }

srv=cw$id-srv cli=cw$id-cli
dsrv=cw${id}s dcli=cw${id}c
addr_srv=10.200.$id.1 addr_cli=10.200.$id.2
run=/run/coffeeweb-netem
pidfile=$run/$id.pid
mode=${NETEM_MODE:-auto}

command -v ip >/dev/null && command -v tc >/dev/null || {
    echo "netem.sh needs iproute2 (apt-get install -y iproute2)" >&2; exit 1; }

exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

stop_link() {
    [ -f "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    # Only the relay this script started (the pid may have been reused).
    if grep -q lossy_link.py "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

down() {
    stop_link
    for ns in "$srv" "$cli"; do
        if exists "$ns"; then ip netns delete "$ns"; fi
    done
    # A veth left in the root namespace by an interrupted `up`.
    ip link delete "$dsrv" 2>/dev/null || true
}

address() { # NS DEV LOCAL PEER
    ip -n "$1" link set lo up
    # IPv4 only: no router solicitations or DAD on the link.
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$1" addr add "$3" peer "$4" dev "$2"
    ip -n "$1" link set "$2" up
}

kernel_link() {
    ip link add "$dsrv" type veth peer name "$dcli"
    ip link set "$dsrv" netns "$srv"
    ip link set "$dcli" netns "$cli"
    for pair in "$srv:$dsrv" "$cli:$dcli"; do
        local ns=${pair%%:*} dev=${pair#*:}
        # netem's own queue must hold a window at 100 Mbit/s and 40 ms.
        tc -n "$ns" qdisc add dev "$dev" root netem delay 20ms 10ms loss 1% \
            reorder 5% duplicate 1% rate 100mbit limit 1000 2>/dev/null || return 1
    done
}

user_link() {
    command -v python3 >/dev/null || { echo "the user-space link needs python3" >&2; exit 1; }
    mkdir -p "$run"
    rm -f "$run/$id.ready"
    setsid python3 "$here/lossy_link.py" --ns-a "$srv" --dev-a "$dsrv" --ns-b "$cli" --dev-b "$dcli" \
        --ready "$run/$id.ready" </dev/null >"$run/$id.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 100); do [ -f "$run/$id.ready" ] && return 0; sleep 0.05; done
    echo "the user-space link did not start: $(cat "$run/$id.log")" >&2
    down
    exit 1
}

up() {
    down
    ip netns add "$srv"
    ip netns add "$cli"
    local used=kernel
    if [ "$mode" = user ] || ! kernel_link; then
        [ "$mode" = kernel ] && { echo "tc netem is not available in this kernel" >&2; down; exit 1; }
        ip -n "$srv" link delete "$dsrv" 2>/dev/null || true
        used=user
        user_link
    fi
    address "$srv" "$dsrv" "$addr_srv" "$addr_cli"
    address "$cli" "$dcli" "$addr_cli" "$addr_srv"
    echo "link $id up ($used netem): $srv $addr_srv <-> $cli $addr_cli"
}

status() {
    for ns in "$srv" "$cli"; do
        if exists "$ns"; then
            echo "$ns: $(ip -n "$ns" -br addr show | grep -v '^lo' | tr -s ' ')"
            tc -n "$ns" qdisc show | grep netem || true
        else
            echo "$ns: absent"
        fi
    done
    if [ -f "$pidfile" ]; then echo "user-space link: pid $(cat "$pidfile")"; fi
}

case "$action" in
    up) up ;;
    down) down ;;
    status) status ;;
    exec)
        case "$side" in
            srv) ns=$srv ;;
            cli) ns=$cli ;;
            *) usage ;;
        esac
        exec ip netns exec "$ns" "$@"
        ;;
    *) usage ;;
esac
