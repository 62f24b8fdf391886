#!/usr/bin/env python3
"""S7's load client: N Server-Sent Events subscribers on one core, for a
fixed time, then it stops by itself.

Opens N keep-alive connections (spread over source addresses 127.0.0.2..,
so that the ephemeral ports of one address are never the limit), sends
`GET /events` on each and waits for every response head. Then, for
DURATION seconds, it reads every event and times its delivery: the
server puts its publish time in the event data (`"sent_us":` microseconds
since the epoch), and an event counts as arrived when the epoll call that
reported its socket returned (the data was in the socket by then, so the
client's own reading of the other sockets adds at most one batch; the
longest batch is printed as client_lag_ms). Only events published in the
window count; after it, GRACE seconds more are read for the last ones.

Tick ids are consecutive, so every id from the first to the last seen in
the window was published, and each subscriber should have each of them.

usage: sse_clients.py HOST PORT PID N DURATION
prints: subscribers expected delivered p50_us p99_us max_us rss_before_kib
        rss_end_kib bytes_per_subscriber cpu_us_per_delivery dropped client_lag_ms
"""
import os
import re
import resource
import selectors
import socket
import statistics
import sys
import time

GRACE = 2.0
PER_SOURCE = 5000
EVENT = re.compile(rb'id: (\d+)\ndata: \{"tick":\d+,"unix":\d+,"sent_us":(\d+)\}\n\n')


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def cpu_us(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1e6 / os.sysconf("SC_CLK_TCK")


def subscribe(host, port, n):
    request = b"GET /events HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode()
    sockets = []
    for i in range(n):
        source = (f"127.0.0.{2 + i // PER_SOURCE}", 0)
        s = socket.create_connection((host, port), timeout=10, source_address=source)
        s.sendall(request)
        s.setblocking(False)
        sockets.append(s)
    return sockets


def wait_for_heads(selector, buffers, deadline):
    waiting = set(buffers)
    while waiting and time.time() < deadline:
        for key, _ in selector.select(timeout=1):
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                raise SystemExit("a subscriber was closed before its response head")
            buffers[s] += data
            head, sep, rest = buffers[s].partition(b"\r\n\r\n")
            if sep and s in waiting:
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"subscribe: {head[:80]!r}")
                waiting.discard(s)
                buffers[s] = rest
    if waiting:
        raise SystemExit(f"{len(waiting)} subscribers got no response head")


def main():
    host, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n, duration = int(sys.argv[4]), float(sys.argv[5])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rss_before = proc_status(pid, "VmRSS")
    sockets = subscribe(host, port, n)
    selector = selectors.DefaultSelector()
    buffers = {}
    for s in sockets:
        selector.register(s, selectors.EVENT_READ)
        buffers[s] = b""
    wait_for_heads(selector, buffers, time.time() + 60)

    start = time.time()
    start_us, end_us = start * 1e6, (start + duration) * 1e6
    cpu_start = cpu_us(pid)
    cpu_end = None
    seen = {s: set() for s in sockets}
    latencies = []
    dropped = 0
    lag = 0.0
    while time.time() < start + duration + GRACE:
        events = selector.select(timeout=0.5)
        now = time.time()
        now_us = now * 1e6
        if cpu_end is None and now_us >= end_us:
            cpu_end = cpu_us(pid)
        for key, _ in events:
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                selector.unregister(s)
                dropped += 1
                continue
            buf = buffers[s] + data
            end = 0
            for match in EVENT.finditer(buf):
                end = match.end()
                sent = int(match.group(2))
                if start_us <= sent <= end_us:
                    seen[s].add(int(match.group(1)))
                    latencies.append(now_us - sent)
            buffers[s] = buf[end:][-4096:]
        lag = max(lag, time.time() - now)
    cpu_end = cpu_end if cpu_end is not None else cpu_us(pid)
    rss_end = proc_status(pid, "VmRSS")
    for s in sockets:
        s.close()

    ids = set().union(*seen.values())
    if not ids:
        raise SystemExit("no event arrived in the window")
    first, last = min(ids), max(ids)
    expected = (last - first + 1) * n
    delivered = sum(len(got) for got in seen.values())
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    per_subscriber = round((rss_end - rss_before) * 1024 / n)
    cpu_per_delivery = round((cpu_end - cpu_start) / max(delivered, 1), 2)
    print(n, expected, delivered, round(p50), round(p99), round(latencies[-1]),
          rss_before, rss_end, per_subscriber, cpu_per_delivery, dropped, round(lag * 1000, 1))


if __name__ == "__main__":
    main()
