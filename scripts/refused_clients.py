#!/usr/bin/env python3
"""Clients refused past --max-connections: does each learn of it?

Holds one connection busy with keep-alive GETs, then opens N more, 50 at a
time, each sending an HTTP/1.0 GET and waiting 10 s: against a server at
--max-connections 1, every one should see a close (EOF) or a reset. One
that sees nothing within 10 s is a refusal the client never heard of: a
lone RST lost on the link (docs/SOAK.md, "Long runs"). Stdlib only.

    scripts/netem.sh up --id 4
    ip netns exec cw4-srv target/release/examples/echo --listen 10.200.4.1:8080 \\
        --root DIR --max-connections 1 &
    ip netns exec cw4-cli python3 scripts/refused_clients.py 10.200.4.1 8080 6000

Prints the count of each outcome; exits 1 if any client heard nothing.
"""

import socket
import sys
import threading
from collections import Counter


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stop = threading.Event()
    held = socket.create_connection((host, port), timeout=30)
    held.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    held.recv(65536)  # answered: the one slot is ours

    def hold():
        while not stop.is_set():
            held.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            held.recv(65536)

    threading.Thread(target=hold, daemon=True).start()
    outcomes, lock = Counter(), threading.Lock()

    def one():
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            outcome = "eof" if not s.recv(100) else "answered"
        except ConnectionResetError:
            outcome = "reset"
        except socket.timeout:
            outcome = "heard_nothing"
        except OSError as e:
            outcome = f"error {e.errno}"
        with lock:
            outcomes[outcome] += 1

    for _ in range(n // 50):
        batch = [threading.Thread(target=one) for _ in range(50)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    stop.set()
    print(dict(outcomes))
    sys.exit(1 if outcomes["heard_nothing"] else 0)


if __name__ == "__main__":
    main()
