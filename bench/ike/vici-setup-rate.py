#!/usr/bin/env python3
"""IKE_SA + CHILD_SA setup rate driven over charon's vici socket, the stand-in for the load-tester
plugin (Debian's strongSwan does not ship load-tester).

usage: vici-setup-rate.py VICI_SOCKET TOTAL IN_FLIGHT [CHILD] [IKE]

IN_FLIGHT worker threads each hold one vici connection and loop "initiate child=CHILD ike=IKE"
(the daemon must run with charon.reuse_ikesa = no, so each initiate makes a new IKE_SA with its
first CHILD_SA in IKE_AUTH); vici answers an initiate only once the CHILD_SA is up, so at most
IN_FLIGHT exchanges are in progress at any moment. Prints one JSON line: ok, failed, seconds, rate.
Stdlib only; the vici wire format is strongSwan's src/libcharon/plugins/vici/README.md.
"""
import json
import socket
import struct
import sys
import threading
import time

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6


def encode(msg):
    out = b''
    for k, v in msg.items():
        kb = k.encode()
        vb = str(v).encode()
        out += bytes([KEY_VALUE, len(kb)]) + kb + struct.pack('>H', len(vb)) + vb
    return out


def decode(data):
    """Top-level key/values only (enough for success/errmsg); sections and lists are skipped."""
    out, i, depth = {}, 0, 0
    while i < len(data):
        t = data[i]
        i += 1
        if t in (SECTION_START, LIST_START):
            n = data[i]
            i += 1 + n
            depth += 1
        elif t in (SECTION_END, LIST_END):
            depth -= 1
        elif t == KEY_VALUE:
            n = data[i]
            k = data[i + 1:i + 1 + n].decode()
            i += 1 + n
            (vl,) = struct.unpack('>H', data[i:i + 2])
            v = data[i + 2:i + 2 + vl].decode(errors='replace')
            i += 2 + vl
            if depth == 0:
                out[k] = v
        elif t == LIST_ITEM:
            (vl,) = struct.unpack('>H', data[i:i + 2])
            i += 2 + vl
        else:
            raise ValueError(f'unknown vici element type {t}')
    return out


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('vici socket closed')
        buf += chunk
    return buf


def request(s, cmd, msg):
    body = bytes([CMD_REQUEST, len(cmd)]) + cmd.encode() + encode(msg)
    s.sendall(struct.pack('>I', len(body)) + body)
    while True:
        (n,) = struct.unpack('>I', recv_exact(s, 4))
        pkt = recv_exact(s, n)
        if pkt[0] == CMD_RESPONSE:
            return decode(pkt[1:])
        if pkt[0] == CMD_UNKNOWN:
            raise ValueError(f'vici does not know command {cmd}')
        # anything else (events) is skipped


def main():
    path, total, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    child = sys.argv[4] if len(sys.argv) > 4 else 'net'
    ike = sys.argv[5] if len(sys.argv) > 5 else 'tunnel'
    lock = threading.Lock()
    state = {'issued': 0, 'ok': 0, 'failed': 0, 'errors': {}}
    deadline = time.monotonic() + 600

    connected = threading.Barrier(in_flight + 1, timeout=60)

    def connect():
        # 64 connects at once overflow the vici socket's listen backlog (EAGAIN): retry, bounded.
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            try:
                s.connect(path)
                return s
            except (BlockingIOError, ConnectionRefusedError):
                s.close()
                time.sleep(0.05)
        raise ConnectionError(f'cannot connect to {path}')

    def worker():
        s = connect()
        connected.wait()
        try:
            while time.monotonic() < deadline:
                with lock:
                    if state['issued'] >= total:
                        return
                    state['issued'] += 1
                r = request(s, 'initiate', {'child': child, 'ike': ike, 'timeout': 20000, 'init-limits': 'no'})
                with lock:
                    if r.get('success') == 'yes':
                        state['ok'] += 1
                    else:
                        state['failed'] += 1
                        e = r.get('errmsg', '?')
                        state['errors'][e] = state['errors'].get(e, 0) + 1
        finally:
            s.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(in_flight)]
    for t in threads:
        t.start()
    connected.wait()  # the clock starts when all IN_FLIGHT vici connections are up
    start = time.monotonic()
    for t in threads:
        t.join(timeout=max(1, deadline - time.monotonic()))
    secs = time.monotonic() - start
    print(json.dumps({'ok': state['ok'], 'failed': state['failed'], 'errors': state['errors'],
                      'in_flight': in_flight, 'seconds': round(secs, 3), 'rate': round(state['ok'] / secs, 1)}))


if __name__ == '__main__':
    main()
