#!/usr/bin/env python3
"""A lossy point-to-point link in user space, for kernels without tc netem.

scripts/netem.sh uses `tc qdisc ... netem` where the kernel has it
(CONFIG_NET_SCH_NETEM). Where it does not (the Firecracker VMs we and CI run
on), it starts this instead: one TUN device inside each of the two network
namespaces, and this process moving IP packets between them with netem's
model, in each direction independently:

  rate      serialised at RATE bit/s behind the packets before it, tail
            drop past LIMIT packets queued (netem's `rate` and `limit`)
  delay     DELAY +- JITTER ms, uniform (netem's default distribution);
            the jitter alone reorders packets, as netem's does
  reorder   REORDER % of packets skip the delay and overtake the rest
            (netem's `reorder`)
  loss      LOSS % dropped at random (netem's `loss random`)
  duplicate DUP % delivered twice (netem's `duplicate`)

usage: lossy_link.py --ns-a NS --dev-a DEV --ns-b NS --dev-b DEV
                     [--delay 20] [--jitter 10] [--loss 1] [--reorder 5]
                     [--duplicate 1] [--rate 100mbit] [--limit 1000]
                     [--ready FILE] [--seed N]
Stdlib only (ctypes for setns). Runs until SIGTERM/SIGINT; prints packet
counts per direction at exit.
"""

import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(netns, name):
    """A TUN device called `name` created inside namespace `netns`."""
    setns(f"/var/run/netns/{netns}")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def parse_rate(text):
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bit": 1}
    for unit, scale in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


class Direction:
    """One way of the link: packets read from `src`, written to `dst`."""

    def __init__(self, name, src, dst, args, rng):
        self.name, self.src, self.dst, self.args, self.rng = name, src, dst, args, rng
        self.link_free_at = 0.0  # when the "wire" has sent what is queued
        self.queued = 0
        self.counts = dict(read=0, lost=0, queue_drop=0, duplicated=0, reordered=0, sent=0, device_down=0)

    def take(self, packet, now, schedule):
        a = self.args
        self.counts["read"] += 1
        if self.queued >= a.limit:
            self.counts["queue_drop"] += 1
            return
        if self.rng.random() * 100 < a.loss:
            self.counts["lost"] += 1
            return
        start = max(now, self.link_free_at)
        self.link_free_at = start + len(packet) * 8 / a.rate_bps
        if self.rng.random() * 100 < a.reorder:
            self.counts["reordered"] += 1
            delay = 0.0
        else:
            delay = (a.delay + self.rng.uniform(-a.jitter, a.jitter)) / 1000
        copies = 2 if self.rng.random() * 100 < a.duplicate else 1
        if copies == 2:
            self.counts["duplicated"] += 1
        for _ in range(copies):
            self.queued += 1
            schedule(self.link_free_at + max(delay, 0.0), self, packet)

    def deliver(self, packet):
        self.queued -= 1
        try:
            os.write(self.dst, packet)
            self.counts["sent"] += 1
        except BlockingIOError:
            self.counts["queue_drop"] += 1
        except OSError:  # EIO: the far device is not up (yet)
            self.counts["device_down"] += 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ns-a", required=True)
    p.add_argument("--dev-a", required=True)
    p.add_argument("--ns-b", required=True)
    p.add_argument("--dev-b", required=True)
    p.add_argument("--delay", type=float, default=20.0, help="ms")
    p.add_argument("--jitter", type=float, default=10.0, help="ms")
    p.add_argument("--loss", type=float, default=1.0, help="percent")
    p.add_argument("--reorder", type=float, default=5.0, help="percent")
    p.add_argument("--duplicate", type=float, default=1.0, help="percent")
    p.add_argument("--rate", default="100mbit")
    p.add_argument("--limit", type=int, default=1000, help="packets queued per direction")
    p.add_argument("--ready", help="file to create once both devices exist")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    args.rate_bps = parse_rate(args.rate)
    rng = random.Random(args.seed)

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd_a = open_tun(args.ns_a, args.dev_a)
    fd_b = open_tun(args.ns_b, args.dev_b)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns(home, CLONE_NEWNET)
    os.close(home)

    ab = Direction(f"{args.dev_a}->{args.dev_b}", fd_a, fd_b, args, rng)
    ba = Direction(f"{args.dev_b}->{args.dev_a}", fd_b, fd_a, args, rng)
    by_fd = {fd_a: ab, fd_b: ba}
    heap, seq = [], [0]

    def schedule(at, direction, packet):
        seq[0] += 1
        heapq.heappush(heap, (at, seq[0], direction, packet))

    stop = [False]

    def on_signal(*_):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    poller = select.epoll()
    poller.register(fd_a, select.EPOLLIN)
    poller.register(fd_b, select.EPOLLIN)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(f"{os.getpid()}\n")

    while not stop[0]:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, direction, packet = heapq.heappop(heap)
            direction.deliver(packet)
        timeout = max(0.0, heap[0][0] - now) if heap else 1.0
        try:
            events = poller.poll(timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            direction = by_fd[fd]
            for _ in range(64):  # a bounded batch, then deliver what is due
                try:
                    packet = os.read(fd, 65536)
                except (BlockingIOError, InterruptedError):
                    break
                direction.take(packet, now, schedule)

    for d in (ab, ba):
        print(d.name, " ".join(f"{k}={v}" for k, v in d.counts.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
