#!/usr/bin/env python3
"""Replays recorded UDP payloads with their original addresses and ports, for the HA failover tests.

  udp_replay.py SRC_ADDR SRC_PORT DST_ADDR DST_PORT PAYLOADS
      PAYLOADS has one payload per line in hex (tshark's udp.payload). Each is sent once, in file
      order, 1 ms apart, from SRC_ADDR:SRC_PORT to DST_ADDR:DST_PORT through a raw socket, so the
      source port may be one another process (charon) has bound. Prints the number sent.

A raw IPPROTO_UDP socket takes the UDP header from us and adds the IP header itself; the UDP
checksum is left 0 ("none", allowed for IPv4 by RFC 768), which receivers accept.
"""
import socket
import struct
import sys
import time


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    src, sport, dst, dport, path = argv[1], int(argv[2]), argv[3], int(argv[4]), argv[5]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    sock.bind((src, 0))
    sent = 0
    with open(path) as lines:
        for line in lines:
            line = line.strip().replace(":", "")
            if not line:
                continue
            payload = bytes.fromhex(line)
            header = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
            sock.sendto(header + payload, (dst, 0))
            sent += 1
            time.sleep(0.001)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
