#!/usr/bin/env python3
"""Send exactly N requests on one keep-alive connection, DEPTH at a time
(pipelined), and read every response. For instruction counting: the same
bytes every run.

usage: requests.py PORT N DEPTH [PATH]   (PATH: / by default)
"""
import socket
import sys


def main():
    port, total, depth = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    path = (sys.argv[4] if len(sys.argv) > 4 else "/").encode()
    request = (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
               % (path, port))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffered = b""
    done = 0
    while done < total:
        batch = min(depth, total - done)
        sock.sendall(request * batch)
        answered = 0
        while answered < batch:
            head_end = buffered.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buffered[:head_end].split(b"\r\n")
                length = next(int(line.split(b":")[1]) for line in head
                              if line.lower().startswith(b"content-length:"))
                if len(buffered) >= head_end + 4 + length:
                    buffered = buffered[head_end + 4 + length:]
                    answered += 1
                    continue
            data = sock.recv(1 << 16)
            if not data:
                raise SystemExit("connection closed early")
            buffered += data
        done += batch
    sock.close()


if __name__ == "__main__":
    main()
