#!/usr/bin/env python3
"""Sequence-numbered UDP probe for the HA failover tests (gateway/src/test/java/dev/keel/gateway/ha).

  udp_probe.py echo BIND_ADDR PORT LOG
      Answers every datagram with the same bytes and logs "E <seq> <realtime ns>" per datagram:
      each arrival, duplicates included.
  udp_probe.py send BIND_ADDR TARGET_ADDR PORT RATE LOG
      Sends datagrams carrying 1, 2, 3, ... at RATE per second until SIGTERM and logs
      "S <seq> <realtime ns>" per datagram sent and "R <seq> <realtime ns>" per answer received.

Times are CLOCK_REALTIME (time.time_ns), the clock of the test's kill instants and of ping -D.
Both flush their log every 0.2 s (the test reads it while it grows) and stop on SIGTERM or
SIGINT with exit 0. The payload is 'KHAP', the sequence number (8 bytes, big endian) and 20
bytes of padding: 32 bytes, well inside any MTU.
"""
import select
import signal
import socket
import struct
import sys
import time

MAGIC = b"KHAP"
FLUSH_NS = 200_000_000  # the test reads the logs while they grow
PACKET = struct.Struct(">4sQ20x")
stopping = False


def stop(_signum, _frame):
    global stopping
    stopping = True


def echo(bind, port, log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, port))
    sock.settimeout(0.2)
    flushed = 0
    with open(log, "w", buffering=1 << 16) as out:
        print("ready", flush=True)
        while not stopping:
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                out.flush()
                continue
            except InterruptedError:
                continue
            now = time.time_ns()
            if now - flushed > FLUSH_NS:
                out.flush()
                flushed = now
            if len(data) != PACKET.size or data[:4] != MAGIC:
                continue
            seq = PACKET.unpack(data)[1]
            out.write("E %d %d\n" % (seq, now))
            try:
                sock.sendto(data, peer)
            except OSError:
                pass  # no route for a moment (failover): the sender sees the answer missing


def send(bind, target, port, rate, log):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 0))
    sock.setblocking(False)
    interval = 1_000_000_000 // rate
    seq = 0
    next_send = time.time_ns()
    flushed = next_send
    with open(log, "w", buffering=1 << 16) as out:
        print("ready", flush=True)
        while not stopping:
            now = time.time_ns()
            if now - flushed > FLUSH_NS:
                out.flush()
                flushed = now
            if now >= next_send:
                seq += 1
                try:
                    sock.sendto(PACKET.pack(MAGIC, seq), (target, port))
                except OSError:
                    pass  # e.g. unreachable for a moment; still logged as sent
                out.write("S %d %d\n" % (seq, now))
                next_send += interval
                if now - next_send > 100 * interval:  # descheduled for long: do not burst to catch up
                    next_send = now + interval
                continue
            try:
                readable, _, _ = select.select([sock], [], [], (next_send - now) / 1e9)
            except InterruptedError:
                continue
            if readable:
                while True:
                    try:
                        data = sock.recv(2048)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break  # an ICMP error reported on the socket
                    if len(data) == PACKET.size and data[:4] == MAGIC:
                        out.write("R %d %d\n" % (PACKET.unpack(data)[1], time.time_ns()))


def main(argv):
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if len(argv) == 5 and argv[1] == "echo":
        echo(argv[2], int(argv[3]), argv[4])
    elif len(argv) == 7 and argv[1] == "send":
        send(argv[2], argv[3], int(argv[4]), int(argv[5]), argv[6])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
