#!/usr/bin/env python3
"""The client side of scripts/soak.sh: well-behaved clients whose every byte
is checked, hostile ones, and a watch on the server process. Stdlib only.

Phases: a baseline (well-behaved clients alone), then the same clients with
the attackers, then a drain (everyone closes) and a settle (the server's
descriptors must return to where they started).

Well-behaved (each exchange checked: status, length, SHA-256 of downloads,
length + CRC-32 of uploads as the echo server reports them):
  keep-alive GETs, 8-deep pipelined GETs, HTTP/1.0 GETs (close-delimited),
  Content-Length and chunked uploads, downloads up to 50 MiB.
Hostile: 1,000 slowloris connections, clients that never read, resets
(SO_LINGER 0) mid-request and mid-response, malformed and oversized heads
and bodies (each must get its precise status, or a close), and a
connection flood past --max-connections.

Exit status: 0 when no well-behaved byte was wrong or lost, no hostile
request got a wrong status, and the server's descriptors (exactly) and RSS
(within the tolerance, see soak.sh) returned to their start; 1 otherwise.
"""

import argparse
import errno
import hashlib
import json
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time
import zlib
from collections import Counter

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes = Counter()
        self.latencies = {"baseline": [], "attack": []}
        self.failures = []  # well-behaved wrong or lost, with what

    def count(self, key, n=1):
        with self.lock:
            self.outcomes[key] += n

    def latency(self, phase, seconds):
        with self.lock:
            self.latencies[phase].append(seconds)

    def fail(self, kind, what, side="good"):
        """A wrong or lost exchange of a well-behaved client, or (side
        "hostile") an attack the server did not answer as it must."""
        with self.lock:
            self.outcomes[f"{side}.{kind}.FAILED"] += 1
            line = f"{time.strftime('%H:%M:%S')} {side} {kind}: {what}"
            if len(self.failures) < 50:
                self.failures.append(line)
                print(f"  FAILED {line}", file=sys.stderr, flush=True)


class Run:
    """Shared state: the phase, the flood window, the stop flag."""

    def __init__(self, args):
        self.args = args
        self.phase = "baseline"
        self.stop = threading.Event()
        self.attack = threading.Event()
        self.flood_until = 0.0
        self.stats = Stats()

    def flooding(self):
        return time.monotonic() < self.flood_until + 2.0


class Lost(Exception):
    """The server closed or reset, or a response was malformed."""


def connect(args, timeout):
    s = socket.create_connection((args.host, args.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(sock):
    """Close with RST (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Reader:
    """Reads HTTP/1.1 responses with Content-Length (or to EOF for 1.0)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, bytearray()

    def more(self):
        try:
            data = self.sock.recv(256 * 1024)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Lost(f"reset ({e})")
        except socket.timeout:
            raise Lost("timed out")
        if not data:
            raise Lost("closed")
        self.buf += data

    def head(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self.buf) > 65536:
                raise Lost("head too long")
            self.more()
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise Lost(f"bad status line {lines[0]!r}")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        return int(parts[1]), fields

    def body(self, fields, digest=None, to_eof=False):
        """Reads the body; returns its length (and feeds `digest`)."""
        if "content-length" in fields:
            want = int(fields["content-length"])
            got = 0
            while got < want:
                if not self.buf:
                    self.more()
                take = min(len(self.buf), want - got)
                if digest is not None:
                    digest.update(self.buf[:take])
                del self.buf[:take]
                got += take
            return got
        if to_eof:
            got = 0
            while True:
                try:
                    self.more()
                except Lost as e:
                    if str(e) == "closed":
                        break
                    raise
                got += len(self.buf)
                if digest is not None:
                    digest.update(self.buf)
                self.buf.clear()
            return got
        raise Lost("no Content-Length")

    def response(self, head_only=False, digest=None, to_eof=False):
        status, fields = self.head()
        n = 0 if head_only else self.body(fields, digest, to_eof)
        return status, fields, n


# ---------------------------------------------------------------- well-behaved


class Good:
    """One well-behaved client thread: a mix of exchanges, each checked."""

    KINDS = ["keepalive", "pipelined", "http10", "upload_cl", "upload_chunked", "download"]
    # Latency is compared for the small exchanges (a file of at most 1 MiB,
    # or eight), where it says how long a client waited, not how big the
    # file was.
    TIMED = ("keepalive", "pipelined", "http10")

    def __init__(self, run, files, n):
        self.run, self.files, self.rng = run, files, random.Random(n)
        self.kind = self.KINDS[n % len(self.KINDS)]
        self.sock = None
        self.reader = None

    def small(self):
        return self.rng.choice([f for f in self.files if f["size"] <= 1 << 20])

    def conn(self):
        if self.sock is None:
            self.sock = connect(self.run.args, self.run.args.io_timeout)
            self.reader = Reader(self.sock)
            self.answered = False
        return self.sock

    def drop(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def check(self, status, n, digest, f, what):
        if status != 200:
            raise ValueError(f"{what}: status {status}")
        if n != f["size"]:
            raise ValueError(f"{what}: {n} bytes, want {f['size']}")
        if digest.hexdigest() != f["sha256"]:
            raise ValueError(f"{what}: wrong bytes (SHA-256)")

    def get(self, f):
        digest = hashlib.sha256()
        self.conn().sendall(f"GET /{f['name']} HTTP/1.1\r\nHost: soak\r\n\r\n".encode())
        status, _, n = self.reader.response(digest=digest)
        self.check(status, n, digest, f, f["name"])
        return n

    def exchange(self):
        kind, rng = self.kind, self.rng
        if kind == "keepalive":
            return self.get(self.small())
        if kind == "download":
            weights = [f["size"] for f in self.files]
            f = rng.choices(self.files, weights=[1 / max(w, 1) ** 0.3 for w in weights])[0]
            return self.get(f)
        if kind == "pipelined":
            batch = [self.small() for _ in range(8)]
            self.conn().sendall(
                b"".join(f"GET /{f['name']} HTTP/1.1\r\nHost: soak\r\n\r\n".encode() for f in batch)
            )
            total = 0
            for f in batch:
                digest = hashlib.sha256()
                status, _, n = self.reader.response(digest=digest)
                self.check(status, n, digest, f, "pipelined " + f["name"])
                total += n
            return total
        if kind == "http10":
            f = self.small()
            self.drop()
            self.conn().sendall(f"GET /{f['name']} HTTP/1.0\r\n\r\n".encode())
            digest = hashlib.sha256()
            status, _, n = self.reader.response(digest=digest, to_eof=True)
            self.check(status, n, digest, f, "HTTP/1.0 " + f["name"])
            self.drop()
            return n
        return self.upload()

    def upload(self):
        """A Content-Length or chunked upload; the echo answers its length and CRC-32."""
        rng = self.rng
        body = rng.randbytes(rng.choice([0, 1, 100, 4096, 65536, 300_000, 1_000_000]))
        want = f"{len(body)} {zlib.crc32(body):08x}"
        sock = self.conn()
        if self.kind == "upload_cl":
            sock.sendall(
                f"POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
        else:
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n")
            at = 0
            while at < len(body):
                piece = body[at : at + rng.randint(1, 70_000)]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                at += len(piece)
            sock.sendall(b"0\r\n\r\n")
        status, fields = self.reader.head()
        text = bytearray()

        class Sink:
            def update(self, b):
                text.extend(b)

        self.reader.body(fields, Sink())
        if status != 200:
            raise ValueError(f"{self.kind}: status {status}")
        if text.decode() != want:
            raise ValueError(f"{self.kind} of {len(body)}: answer {text.decode()!r}, want {want!r}")
        return len(body)

    def loop(self):
        run = self.run
        while not run.stop.is_set():
            started = time.monotonic()
            try:
                n = self.exchange()
                self.answered = True
                run.stats.count(f"good.{self.kind}.ok")
                run.stats.count("good.bytes", n)
                if self.kind in self.TIMED:
                    run.stats.latency(run.phase, time.monotonic() - started)
            except (Lost, OSError) as e:
                # Closed or reset while a flood is on, with nothing answered
                # yet on this connection: one the server refused for being
                # past --max-connections (the contract: refused or closed
                # at once). Silence until our timeout is never a refusal but
                # a lost exchange (src/server/listener.rs `refuse` makes sure
                # a refusal reaches the client).
                fresh = not getattr(self, "answered", False)
                timed_out = isinstance(e, TimeoutError) or str(e) == "timed out"
                self.drop()
                if run.stop.is_set():
                    break
                if isinstance(e, ConnectionRefusedError) or (fresh and run.flooding() and not timed_out):
                    # Try again.
                    run.stats.count(f"good.{self.kind}.refused_at_capacity")
                    time.sleep(0.05)
                    continue
                run.stats.fail(self.kind, f"lost: {e}")
                time.sleep(0.2)
            except ValueError as e:
                self.drop()
                run.stats.fail(self.kind, f"wrong: {e}")
                time.sleep(0.2)
            time.sleep(run.args.pause)
        self.drop()


# -------------------------------------------------------------------- hostile

MALFORMED = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-N: 1\r\n" * 150 + b"\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
    (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    (b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(40)) + b"\r\n\r\n", 400),
]


def malformed(run, rng):
    request, want = rng.choice(MALFORMED)
    if rng.random() < 0.05:  # a chunked body over --max-body-bytes
        request = (
            b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"10000\r\n" + b"z" * 0x10000 + b"\r\n") * 20
        )
        want = 413
    sock = connect(run.args, run.args.io_timeout)
    try:
        try:
            sock.sendall(request)
        except OSError:
            pass  # refused mid-send: the answer may still be there
        status, _ = Reader(sock).head()
        if status == want:
            run.stats.count("hostile.malformed.expected")
        else:
            run.stats.fail("malformed", f"{request[:40]!r}: {status}, want {want}", "hostile")
    except Lost:
        run.stats.count("hostile.malformed.closed")  # a reset can beat the answer
    finally:
        sock.close()


def resets(run, rng, files):
    big = max(files, key=lambda f: f["size"])
    sock = connect(run.args, run.args.io_timeout)
    try:
        if rng.random() < 0.5:
            sock.sendall(rng.choice([
                b"GET / HTTP/1.1\r\nHost: x\r\nX-Part",
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n" + b"p" * 100_000,
                b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nabc",
            ]))
            run.stats.count("hostile.reset_mid_request")
        else:
            sock.sendall(f"GET /{big['name']} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.recv(65536)
            run.stats.count("hostile.reset_mid_response")
    except OSError:
        run.stats.count("hostile.reset_early_close")
    reset(sock)


class Slowloris:
    """N connections, each sending a head one small piece at a time."""

    def __init__(self, run, n):
        self.run, self.n, self.sel = run, n, selectors.DefaultSelector()
        self.socks = {}

    def open_one(self):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((self.run.args.host, self.run.args.port))
        except OSError:
            self.run.stats.count("hostile.slowloris.connect_failed")
            return
        self.socks[s] = [b"GET / HTTP/1.1\r\nHost: x\r\n", 0.0, 0]
        self.sel.register(s, selectors.EVENT_READ)

    def close(self, s, outcome):
        self.run.stats.count(f"hostile.slowloris.{outcome}")
        self.sel.unregister(s)
        del self.socks[s]
        s.close()

    def loop(self):
        rng = random.Random(7)
        while not self.run.stop.is_set():
            while len(self.socks) < self.n and self.run.attack.is_set():
                self.open_one()
            now = time.monotonic()
            for s, state in list(self.socks.items()):
                if now >= state[1]:
                    try:
                        if state[0]:
                            s.send(state[0][:1])
                            state[0] = state[0][1:]
                        else:  # then header fields, forever, a byte at a time
                            s.send(b"X-a: b\r\n"[state[2] % 8 : state[2] % 8 + 1])
                            state[2] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.close(s, "closed_by_server")
                        continue
                    state[1] = now + rng.uniform(0.5, 2.0)
            for key, _ in self.sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                self.close(s, "got_408" if data.startswith(b"HTTP/1.1 408") else "closed_by_server")
            if not self.run.attack.is_set():
                for s in list(self.socks):
                    self.close(s, "closed_by_us")
                time.sleep(0.2)
        for s in list(self.socks):
            self.close(s, "closed_by_us")


def non_reader(run, files):
    """Asks for the biggest file, pipelines more asks, never reads; holds
    past the write timeout, then resets."""
    big = max(files, key=lambda f: f["size"])
    try:
        sock = connect(run.args, run.args.io_timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(1.0)
        ask = f"GET /{big['name']} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        # The server's write timeout runs from when its writes stop making
        # progress, which is after its send buffer and our receive buffer
        # have filled: seconds on a slow lossy link. Twice the timeout, and
        # some, is the bound past which it has certainly failed to close.
        deadline = time.monotonic() + 2 * run.args.write_timeout + 10
        while time.monotonic() < deadline and not run.stop.is_set():
            try:
                sock.send(ask)
            except socket.timeout:
                pass
            except OSError:
                run.stats.count("hostile.non_reader.closed_by_server")
                sock.close()
                return
            time.sleep(1.0)
        if run.stop.is_set():
            run.stats.count("hostile.non_reader.stopped_by_us")
        else:  # the server should have closed it at its write timeout
            run.stats.count("hostile.non_reader.NOT_CLOSED")
            run.stats.fail("non_reader", "open past the write timeout", "hostile")
        reset(sock)
    except OSError:
        run.stats.count("hostile.non_reader.connect_failed")


def flood(run):
    """Opens connections past --max-connections all at once (non-blocking,
    so a slow link does not serialise them), holds them, lets go."""
    socks = []
    target = run.args.max_connections + 300
    run.flood_until = time.monotonic() + 15
    try:
        for _ in range(target):
            s = socket.socket()
            s.setblocking(False)
            if s.connect_ex((run.args.host, run.args.port)) not in (0, errno.EINPROGRESS):
                s.close()
                run.stats.count("hostile.flood.connect_failed")
                continue
            socks.append(s)
        run.stats.count("hostile.flood.opened", len(socks))
        time.sleep(3.0)  # handshakes done (several RTTs over the lossy link)
        closed = 0
        for s in socks:
            try:
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        run.stats.count("hostile.flood.closed_at_once", closed)
        time.sleep(2.0)
    finally:
        for s in socks:
            s.close()
        run.flood_until = time.monotonic()


def hostile_loop(run, files, n):
    rng = random.Random(1000 + n)
    next_flood = time.monotonic() + 15
    nonreaders = []
    while not run.stop.is_set():
        if not run.attack.is_set():
            time.sleep(0.2)
            continue
        r = rng.random()
        if n == 0 and time.monotonic() >= next_flood:
            flood(run)
            next_flood = time.monotonic() + run.args.flood_every
        elif r < 0.5:
            malformed(run, rng)
        elif r < 0.9:
            resets(run, rng, files)
        elif len([t for t in nonreaders if t.is_alive()]) < run.args.non_readers:
            t = threading.Thread(target=non_reader, args=(run, files), daemon=True)
            t.start()
            nonreaders.append(t)
        time.sleep(run.args.hostile_pause)
    for t in nonreaders:
        t.join(timeout=60)


# -------------------------------------------------------------------- watching


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return {"rss_kib": rss, "fds": fds, "cpu_s": cpu, "t": time.monotonic()}


class Watch:
    def __init__(self, pid):
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        self.start = sample(pid)
        self.peak = dict(self.start)

    def loop(self):
        while not self.stop.wait(1.0):
            s = sample(self.pid)
            self.samples.append(s)
            self.peak["rss_kib"] = max(self.peak["rss_kib"], s["rss_kib"])
            self.peak["fds"] = max(self.peak["fds"], s["fds"])


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="the server process")
    p.add_argument("--files", required=True, help="JSON list of {name,size,sha256}")
    p.add_argument("--seconds", type=float, required=True, help="baseline + attack")
    p.add_argument("--baseline", type=float, required=True)
    p.add_argument("--good", type=int, default=12, help="well-behaved client threads")
    p.add_argument("--pause", type=float, default=0.01, help="between exchanges")
    p.add_argument("--slowloris", type=int, default=1000)
    p.add_argument("--hostile", type=int, default=3, help="hostile threads")
    p.add_argument("--hostile-pause", type=float, default=0.05)
    p.add_argument("--non-readers", type=int, default=10)
    p.add_argument("--max-connections", type=int, required=True)
    p.add_argument("--write-timeout", type=float, default=30)
    p.add_argument("--flood-every", type=float, default=60)
    p.add_argument("--io-timeout", type=float, default=120)
    p.add_argument("--rss-tolerance-kib", type=int, required=True)
    p.add_argument("--settle", type=float, default=60, help="most seconds for fds to return")
    p.add_argument("--out", required=True, help="summary JSON")
    args = p.parse_args()
    files = json.load(open(args.files))

    run = Run(args)
    watch = Watch(args.pid)
    threading.Thread(target=watch.loop, daemon=True).start()
    good = [threading.Thread(target=Good(run, files, i).loop) for i in range(args.good)]
    for t in good:
        t.start()
    time.sleep(args.baseline)
    after_baseline = sample(args.pid)

    run.phase = "attack"
    run.attack.set()
    loris = Slowloris(run, args.slowloris)
    hostile = [threading.Thread(target=loris.loop)] + [
        threading.Thread(target=hostile_loop, args=(run, files, i)) for i in range(args.hostile)
    ]
    for t in hostile:
        t.start()
    end = time.monotonic() + args.seconds - args.baseline
    while time.monotonic() < end:
        time.sleep(min(10, max(0.1, end - time.monotonic())))
        o = run.stats.outcomes
        print(
            f"  {time.strftime('%H:%M:%S')} ok={sum(v for k, v in o.items() if k.startswith('good.') and k.endswith('.ok'))}"
            f" failed={sum(v for k, v in o.items() if k.endswith('FAILED'))}"
            f" rss={watch.samples[-1]['rss_kib'] if watch.samples else '?'}KiB"
            f" fds={watch.samples[-1]['fds'] if watch.samples else '?'}",
            file=sys.stderr,
            flush=True,
        )

    run.attack.clear()
    run.stop.set()
    for t in good + hostile:
        t.join(timeout=args.io_timeout + 60)
    settle_deadline = time.monotonic() + args.settle
    while True:
        end_sample = sample(args.pid)
        if end_sample["fds"] <= watch.start["fds"] or time.monotonic() > settle_deadline:
            break
        time.sleep(0.5)
    time.sleep(1.0)
    end_sample = sample(args.pid)
    watch.stop.set()

    stats = run.stats
    wall = end_sample["t"] - watch.start["t"]
    cpu = end_sample["cpu_s"] - watch.start["cpu_s"]
    good_ok = sum(v for k, v in stats.outcomes.items() if k.startswith("good.") and k.endswith(".ok"))
    good_failed = sum(v for k, v in stats.outcomes.items() if k.startswith("good.") and k.endswith("FAILED"))
    hostile_failed = sum(v for k, v in stats.outcomes.items() if k.startswith("hostile.") and k.endswith("FAILED"))
    rss_back = end_sample["rss_kib"] <= watch.start["rss_kib"] + args.rss_tolerance_kib
    fds_back = end_sample["fds"] == watch.start["fds"]
    summary = {
        "seconds": round(wall, 1),
        "outcomes": dict(sorted(stats.outcomes.items())),
        "well_behaved": {"ok": good_ok, "wrong_or_lost": good_failed, "failures": stats.failures},
        "hostile_misanswered": hostile_failed,
        "latency_ms": {
            phase: {
                "n": len(v),
                "p50": round(percentile(v, 50) * 1000, 2) if v else None,
                "p99": round(percentile(v, 99) * 1000, 2) if v else None,
            }
            for phase, v in stats.latencies.items()
        },
        "server": {
            "rss_kib": {
                "start": watch.start["rss_kib"],
                "after_baseline": after_baseline["rss_kib"],
                "peak": watch.peak["rss_kib"],
                "end": end_sample["rss_kib"],
                "tolerance": args.rss_tolerance_kib,
                "back": rss_back,
            },
            "fds": {
                "start": watch.start["fds"],
                "after_baseline": after_baseline["fds"],
                "peak": watch.peak["fds"],
                "end": end_sample["fds"],
                "back": fds_back,
            },
            "cpu_seconds": round(cpu, 2),
            "cpu_percent_of_one_core": round(100 * cpu / wall, 1) if wall else None,
        },
    }
    summary["pass"] = good_failed == 0 and hostile_failed == 0 and rss_back and fds_back and good_ok > 0
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=2)
    sys.exit(0 if summary["pass"] else 1)


if __name__ == "__main__":
    main()
