#!/usr/bin/env python3
"""Markdown tables from one bench/run-esp.sh result directory (stdlib only).

Usage: esp-table.py <results dir>   (reads jmh-esp.json, openssl.txt, and jmh-replay/jmh-gcm.json if present)

MB/s are 10^6 bytes of inner packet per second: JMH ops/s times the inner packet size.
OpenSSL MB/s are 10^6 bytes of input per second at the same size (`speed -bytes N`).
"""
import json
import os
import sys

SUITES = [
    ("AES128_GCM16", "AES-GCM-16 128", ["aes-128-gcm"]),
    ("AES256_GCM16", "AES-GCM-16 256", ["aes-256-gcm"]),
    ("CHACHA20_POLY1305", "ChaCha20-Poly1305", ["chacha20-poly1305"]),
    ("AES128_CBC_SHA256", "AES-128-CBC + HMAC-SHA-256-128", ["aes-128-cbc", "hmac-sha256"]),
    ("AES256_CBC_SHA256", "AES-256-CBC + HMAC-SHA-256-128", ["aes-256-cbc", "hmac-sha256"]),
    ("AES256_CBC_SHA384", "AES-256-CBC + HMAC-SHA-384-192", ["aes-256-cbc", "hmac-sha384"]),
    ("AES256_CBC_SHA512", "AES-256-CBC + HMAC-SHA-512-256", ["aes-256-cbc", "hmac-sha512"]),
    ("NULL_SHA256", "NULL + HMAC-SHA-256-128", ["hmac-sha256"]),
]


def load_jmh(path):
    """{(method, suite, size): (ops/s, error, B/op)}"""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for r in json.load(f):
            method = r["benchmark"].rsplit(".", 1)[-1]
            p = r.get("params", {})
            norm = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score")
            key = (method, p.get("suite"), int(p["size"]) if "size" in p else p.get("window"))
            out[key] = (r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"], norm,
                        r["primaryMetric"]["scoreUnit"])
    return out


def load_openssl(path):
    """{(label, direction, size): bytes/s}; label e.g. aes-128-gcm, direction enc/dec/None."""
    out = {}
    label = size = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("#run "):
                _, name, size = line.split()
                size = int(size)
                label, _, direction = name.partition(":")
                direction = direction or None
            elif line.startswith("+F:") and label:
                fields = line.split(":")
                if len(fields) >= 4 and fields[1] != "failed":
                    out[(label, direction, size)] = float(fields[3])
    return out


def openssl_mbs(ossl, parts, direction, size):
    """Per-byte times add: CBC then HMAC on the same bytes. None if any part is missing."""
    total = 0.0
    for part in parts:
        bps = ossl.get((part, direction, size)) or ossl.get((part, None, size))
        if not bps:
            return None
        total += 1.0 / bps
    return 1.0 / total / 1e6


def fmt(x, digits=0):
    if not isinstance(x, (int, float)) or x != x:
        return "n/a"
    return f"{x:,.{digits}f}"


def score(r):
    """'score ± error'; JMH reports the error as NaN with fewer than 2 iterations."""
    return f"{fmt(r[0])} ± {fmt(r[1])}"


def main():
    d = sys.argv[1]
    jmh = load_jmh(os.path.join(d, "jmh-esp.json"))
    ossl = load_openssl(os.path.join(d, "openssl.txt"))
    sizes = sorted({k[2] for k in jmh})
    print("| suite | size (B) | Keel encap MB/s | Keel decap MB/s | OpenSSL seal MB/s | OpenSSL open MB/s "
          "| encap / OpenSSL seal | decap / OpenSSL open | decap / OpenSSL seal | encap B/op | decap B/op |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for suite, title, parts in SUITES:
        for size in sizes:
            enc = jmh.get(("encapsulate", suite, size))
            dec = jmh.get(("decapsulate", suite, size))
            if not enc and not dec:
                continue
            enc_mbs = enc[0] * size / 1e6 if enc else None
            dec_mbs = dec[0] * size / 1e6 if dec else None
            o_enc = openssl_mbs(ossl, parts, "enc", size)
            o_dec = openssl_mbs(ossl, parts, "dec", size)
            r_enc = enc_mbs / o_enc if enc_mbs and o_enc else None
            r_dec = dec_mbs / o_dec if dec_mbs and o_dec else None
            r_dec_seal = dec_mbs / o_enc if dec_mbs and o_enc else None
            print(f"| {title} | {size} | {fmt(enc_mbs)} | {fmt(dec_mbs)} | {fmt(o_enc)} | {fmt(o_dec)} "
                  f"| {fmt(r_enc, 2)} | {fmt(r_dec, 2)} | {fmt(r_dec_seal, 2)} "
                  f"| {fmt(enc[2] if enc else None, 0)} | {fmt(dec[2] if dec else None, 0)} |")

    print()
    print("Packets per second (JMH score ± 99.9% error):")
    print()
    print("| suite | size (B) | encap ops/s | decap ops/s |")
    print("|---|---:|---:|---:|")
    for suite, title, _ in SUITES:
        for size in sizes:
            enc = jmh.get(("encapsulate", suite, size))
            dec = jmh.get(("decapsulate", suite, size))
            if not enc and not dec:
                continue
            e = score(enc) if enc else "n/a"
            g = score(dec) if dec else "n/a"
            print(f"| {title} | {size} | {e} | {g} |")

    target = []
    for suite, parts in (("AES128_GCM16", ["aes-128-gcm"]), ("AES256_GCM16", ["aes-256-gcm"])):
        o = openssl_mbs(ossl, parts, "enc", 1400)
        for method in ("encapsulate", "decapsulate"):
            r = jmh.get((method, suite, 1400))
            if r and o:
                ratio = r[0] * 1400 / 1e6 / o
                target.append(f"| {suite} {method} 1400 B | {ratio:.2f} | {'met' if ratio >= 0.9 else 'NOT met'} |")
    if target:
        print()
        print("Issue #2 target, 1400 B vs OpenSSL `speed -aead` (encrypt) at 1400 B, >= 0.90:")
        print()
        print("| case | Keel / OpenSSL | target |")
        print("|---|---:|---|")
        print("\n".join(target))

    replay = load_jmh(os.path.join(d, "jmh-replay.json"))
    if replay:
        print()
        print("| replay window (check + accept, in order) | ns/packet |")
        print("|---|---:|")
        for (method, _, window), r in sorted(replay.items(), key=lambda kv: int(kv[0][2])):
            print(f"| {window} | {fmt(r[0], 1)} ± {fmt(r[1], 1)} |")

    gcm = load_jmh(os.path.join(d, "jmh-gcm.json"))
    if gcm:
        print()
        print("SunJCE AES-128-GCM alone (EspAesGcmProviderBenchmark):")
        print()
        print("| call | size (B) | ops/s | MB/s | B/op |")
        print("|---|---:|---:|---:|---:|")
        for (method, _, size), r in sorted(gcm.items(), key=lambda kv: (kv[0][0], kv[0][2])):
            print(f"| {method} | {size} | {score(r)} | {fmt(r[0] * size / 1e6)} | {fmt(r[2])} |")


if __name__ == "__main__":
    main()
