#!/usr/bin/env python3
"""IKE_SA + CHILD_SA setup rate driven over charon's vici socket, the stand-in for the load-tester
plugin (Debian's strongSwan does not ship load-tester).

usage: vici-setup-rate.py VICI_SOCKET TOTAL IN_FLIGHT [CHILD] [IKE]

Sends "initiate child=CHILD ike=IKE timeout=-1" (queued by charon, answered at once; the daemon
must run with charon.reuse_ikesa = no, so each initiate makes a new IKE_SA with its first CHILD_SA
in IKE_AUTH) and keeps IN_FLIGHT of them outstanding: a slot is freed by the child-updown (up)
event of a new CHILD_SA, or by an ike-updown (down) event (counted as failed). Prints one JSON
line: ok, failed, seconds, rate. The clock runs from the first initiate to the TOTAL-th outcome.
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


EVENT_REGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 5, 6, 7


def send(s, ptype, name, msg=None):
    body = bytes([ptype, len(name)]) + name.encode() + (encode(msg) if msg else b'')
    s.sendall(struct.pack('>I', len(body)) + body)


def main():
    path, total, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    child = sys.argv[4] if len(sys.argv) > 4 else 'net'
    ike = sys.argv[5] if len(sys.argv) > 5 else 'tunnel'
    state = {'ok': 0, 'failed': 0, 'errors': {}}
    lock = threading.Lock()
    slots = threading.Semaphore(in_flight)
    done = threading.Event()

    # Events: one listener (the blocking "initiate" would add one bus listener per waiting
    # request inside charon, whose cost grows with the number in flight).
    ev = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ev.connect(path)
    for name in ('child-updown', 'ike-updown'):
        send(ev, EVENT_REGISTER, name)
        (n,) = struct.unpack('>I', recv_exact(ev, 4))
        if recv_exact(ev, n)[0] != EVENT_CONFIRM:
            sys.exit(f'vici refused event {name}')

    def events():
        while not done.is_set():
            try:
                (n,) = struct.unpack('>I', recv_exact(ev, 4))
            except (OSError, ConnectionError):
                return
            pkt = recv_exact(ev, n)
            if pkt[0] != EVENT:
                continue
            ln = pkt[1]
            name = pkt[2:2 + ln].decode()
            msg = decode(pkt[2 + ln:])
            if msg.get('up') == 'yes' and name == 'child-updown':
                outcome = 'ok'
            elif msg.get('up') != 'yes' and name == 'ike-updown':
                outcome = 'failed'  # an IKE_SA went down before (or without) its CHILD_SA
            else:
                continue
            with lock:
                state[outcome] += 1
                if state['ok'] + state['failed'] >= total:
                    done.set()
            slots.release()

    listener = threading.Thread(target=events, daemon=True)
    listener.start()

    cmd = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cmd.settimeout(30)
    cmd.connect(path)
    deadline = time.monotonic() + 600
    start = time.monotonic()
    for _ in range(total):
        while not slots.acquire(timeout=1):
            if time.monotonic() > deadline:
                break
        # timeout -1: charon queues the initiation and answers at once (no waiting listener).
        r = request(cmd, 'initiate', {'child': child, 'ike': ike, 'timeout': -1, 'init-limits': 'no',
                                      'loglevel': -1})
        if r.get('success') != 'yes':
            with lock:
                state['failed'] += 1
                e = r.get('errmsg', '?')
                state['errors'][e] = state['errors'].get(e, 0) + 1
                if state['ok'] + state['failed'] >= total:
                    done.set()
            slots.release()
    done.wait(timeout=max(1, deadline - time.monotonic()))
    secs = time.monotonic() - start
    ev.close()
    cmd.close()
    print(json.dumps({'ok': state['ok'], 'failed': state['failed'], 'errors': state['errors'],
                      'in_flight': in_flight, 'seconds': round(secs, 3), 'rate': round(state['ok'] / secs, 1)}))


if __name__ == '__main__':
    main()
