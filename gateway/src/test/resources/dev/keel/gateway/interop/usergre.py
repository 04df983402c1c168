#!/usr/bin/env python3
"""GRE over IPv4 (RFC 2784: a 4-byte header, no checksum, key or sequence number) in user space.

For kernels built without ip_gre (CONFIG_NET_IPGRE_DEMUX unset): opens TUN device NAME, sends
every packet read from it to REMOTE as IP protocol 47 from LOCAL (a raw socket, so the kernel
writes the outer IPv4 header as it does for its own GRE), and writes the payload of every GRE
packet from REMOTE to the TUN device. Packets with GRE flags set, another protocol type or
another source are dropped and counted; the counts are printed when the process ends (SIGTERM).

usage: usergre.py NAME LOCAL REMOTE
"""
import fcntl
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
ETHERTYPES = {4: 0x0800, 6: 0x86DD}


def main():
    name, local, remote = sys.argv[1:4]
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
    raw.bind((local, 0))
    counts = {"sent": 0, "received": 0, "dropped": 0}

    def stop(*_):
        print("usergre: %s counts %s" % (name, counts), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("usergre: %s up, %s -> %s" % (name, local, remote), flush=True)
    while True:
        ready, _, _ = select.select([tun, raw], [], [])
        if tun in ready:
            inner = os.read(tun, 65535)
            ethertype = ETHERTYPES.get(inner[0] >> 4) if inner else None
            if ethertype is None:
                counts["dropped"] += 1
            else:
                raw.sendto(struct.pack("!HH", 0, ethertype) + inner, (remote, 0))
                counts["sent"] += 1
        if raw in ready:
            data, (source, _) = raw.recvfrom(65535)
            header = (data[0] & 0x0F) * 4
            if source != remote or len(data) < header + 4:
                counts["dropped"] += 1
                continue
            flags, ethertype = struct.unpack("!HH", data[header:header + 4])
            if flags != 0 or ethertype not in ETHERTYPES.values():
                counts["dropped"] += 1
                continue
            os.write(tun, data[header + 4:])
            counts["received"] += 1


if __name__ == "__main__":
    main()
