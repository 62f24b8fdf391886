#!/usr/bin/env python3
"""Open N keep-alive connections to a server, send one request on each,
read the answers, keep them open, and report the server's memory per idle
connection (VmRSS delta / N); then close them and report RSS again.

usage: idle_clients.py HOST PORT PID [N]
prints: rss_before_kib rss_idle_kib rss_after_kib bytes_per_connection
"""
import resource
import selectors
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    host, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode()
    before = rss_kib(pid)
    sockets = []
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(request)
        sockets.append(s)
    # Read every response (until its head and Content-Length body arrived).
    selector = selectors.DefaultSelector()
    pending = {}
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        pending[s] = b""
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for key, _ in selector.select(timeout=1):
            s = key.fileobj
            pending[s] += s.recv(65536)
            head, sep, body = pending[s].partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(body) >= length:
                selector.unregister(s)
                del pending[s]
    if pending:
        raise SystemExit(f"{len(pending)} connections got no answer")
    time.sleep(1)
    idle = rss_kib(pid)
    for s in sockets:
        s.close()
    time.sleep(2)
    after = rss_kib(pid)
    print(before, idle, after, round((idle - before) * 1024 / n))


if __name__ == "__main__":
    main()
