#!/usr/bin/env python3
"""Verifies the ICV of every AH packet (IP protocol 51) in a pcap, written apart from Keel with the
standard library's hmac: RFC 4302 section 3.3.3 and Appendix A (IPv4: TOS, flags, fragment offset,
TTL and checksum zeroed, options other than EOL/NOP/security/router alert zeroed; IPv6: traffic
class, flow label and hop limit zeroed), the ICV field (padding included) zeroed.

usage: verify_ah_icv.py PCAP HASH ICV_BYTES SPI=KEYHEX ...
prints one line per AH packet: "<spi hex> <sequence> good|bad|nokey"; exits 2 on a malformed file.
"""
import hashlib
import hmac
import struct
import sys

IMMUTABLE_V4_OPTIONS = {130, 133, 134, 148, 149}


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    skip = {1: 14, 113: 16, 101: 0, 276: 20}.get(linktype)
    if skip is None:
        sys.exit("unsupported link type %d" % linktype)
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        frame = data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen
        if linktype == 1 and len(frame) >= 14:
            ethertype = struct.unpack(">H", frame[12:14])[0]
            if ethertype not in (0x0800, 0x86DD):
                continue
        yield bytearray(frame[skip:])


def check(packet, digest, icv_len, keys):
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 0x0F) * 4
        if packet[9] != 51:
            return None
        total = struct.unpack(">H", packet[2:4])[0]
        packet = packet[:total]
        packet[1] = 0
        packet[6:8] = b"\0\0"
        packet[8] = 0
        packet[10:12] = b"\0\0"
        i = 20
        while i < ihl:
            t = packet[i]
            if t == 0:
                break
            if t == 1:
                i += 1
                continue
            length = packet[i + 1]
            if t not in IMMUTABLE_V4_OPTIONS:
                packet[i:i + length] = bytes(length)
            i += length
        ah = ihl
    elif version == 6:
        if packet[6] != 51:
            return None
        packet = packet[:40 + struct.unpack(">H", packet[4:6])[0]]
        packet[0] &= 0xF0
        packet[1:4] = b"\0\0\0"
        packet[7] = 0
        ah = 40
    else:
        return None
    ah_len = (packet[ah + 1] + 2) * 4
    spi = struct.unpack(">I", packet[ah + 4:ah + 8])[0]
    seq = struct.unpack(">I", packet[ah + 8:ah + 12])[0]
    received = bytes(packet[ah + 12:ah + 12 + icv_len])
    packet[ah + 12:ah + ah_len] = bytes(ah_len - 12)
    key = keys.get(spi)
    if key is None:
        return "%08x %d nokey" % (spi, seq)
    mac = hmac.new(key, bytes(packet), digest).digest()[:icv_len]
    return "%08x %d %s" % (spi, seq, "good" if hmac.compare_digest(mac, received) else "bad")


def main():
    path, digest, icv_len = sys.argv[1], getattr(hashlib, sys.argv[2]), int(sys.argv[3])
    keys = {}
    for arg in sys.argv[4:]:
        spi, key = arg.split("=")
        keys[int(spi, 16)] = bytes.fromhex(key)
    for packet in frames(path):
        line = check(packet, digest, icv_len, keys)
        if line:
            print(line)


if __name__ == "__main__":
    main()
