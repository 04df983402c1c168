#!/usr/bin/env python3
"""Extracts an IKEv2 key chain from a charon filelog written with ike=4 and chd=4 (strongSwan 5.9)
and checks it by recomputing the RFC 7296 section 2.13/2.14/2.17 derivations with HMAC.

usage: keychain-from-log.py LOG INITIATOR_SPI RESPONDER_SPI PROPOSAL ESP_PROPOSAL > keychain.properties

SPIs are the IKE SPIs as hex (swanctl --list-sas: "<spi>_i ... <spi>_r"). Nonces are not logged by
charon as such; the CHILD_SA key seed of the first CHILD_SA (created with IKE_AUTH, no PFS) is
Ni | Nr (RFC 7296 2.17), and strongSwan's nonces are 32 bytes, so the seed is split in two; the
SKEYSEED check below proves the split (SKEYSEED = prf(Ni | Nr, g^ir)).
Stdlib only.
"""
import hashlib
import hmac
import re
import sys

LINE = re.compile(r'^\S+ \d+\[(\w+)\] (?:<[^>]*> )?(.*)$')
HEAD = re.compile(r'^(.*) => (\d+) bytes @ 0x[0-9a-f]+$')
DUMP = re.compile(r'^\s+\d+: ((?:[0-9A-F]{2} )*[0-9A-F]{2})')


def chunks(path):
    """label -> list of byte strings, in log order."""
    out = {}
    label, want, buf = None, 0, b''
    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            m = LINE.match(raw.rstrip('\n'))
            if not m:
                continue
            text = m.group(2)
            if label is not None:
                d = DUMP.match(text)
                if d:
                    buf += bytes.fromhex(d.group(1).replace(' ', ''))
                    if len(buf) >= want:
                        out.setdefault(label, []).append(buf[:want])
                        label = None
                    continue
                label = None
            h = HEAD.match(text)
            if h:
                label, want, buf = h.group(1), int(h.group(2)), b''
                if want == 0:
                    out.setdefault(label, []).append(b'')
                    label = None
    return out


def prf_plus(prf, key, seed, length):
    out, t, i = b'', b'', 1
    while len(out) < length:
        t = prf(key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:length]


def main():
    log, spi_i, spi_r, proposal, esp = sys.argv[1:6]
    c = chunks(log)

    def one(label, required=True):
        v = c.get(label)
        if not v:
            if required:
                sys.exit(f'{log}: no "{label}" dump (is the log at ike=4, chd=4?)')
            return b''
        return v[0]

    g_ir = one('shared Diffie Hellman secret')
    skeyseed = one('SKEYSEED')
    keys = {k: one(f'Sk_{k} secret', required=k not in ('ai', 'ar')) for k in
            ('d', 'ai', 'ar', 'ei', 'er', 'pi', 'pr')}
    seed = one('seed')
    if len(seed) != 64:
        sys.exit(f'CHILD_SA seed is {len(seed)} bytes, expected Ni | Nr of 32 + 32 (PFS used?)')
    ni, nr = seed[:32], seed[32:]
    child = {
        'ei': one('encryption initiator key'), 'er': one('encryption responder key'),
        'ai': one('integrity initiator key', required=False),
        'ar': one('integrity responder key', required=False),
    }

    # Recompute with HMAC-SHA-256 (the PRF of both pinned proposals) so a mislabelled field fails here.
    if 'prfsha256' not in proposal and 'sha256' not in proposal:
        sys.exit('only PRF HMAC-SHA-256 proposals are checked by this script')
    prf = lambda k, d: hmac.new(k, d, hashlib.sha256).digest()
    if prf(ni + nr, g_ir) != skeyseed:
        sys.exit('SKEYSEED != prf(Ni | Nr, g^ir): nonce split or DH secret wrong')
    spis = bytes.fromhex(spi_i) + bytes.fromhex(spi_r)
    order = ('d', 'ai', 'ar', 'ei', 'er', 'pi', 'pr')
    total = sum(len(keys[k]) for k in order)
    stream = prf_plus(prf, skeyseed, ni + nr + spis, total)
    pos = 0
    for k in order:
        n = len(keys[k])
        if stream[pos:pos + n] != keys[k]:
            sys.exit(f'SK_{k} != its slice of prf+(SKEYSEED, Ni | Nr | SPIi | SPIr): SPIs swapped?')
        pos += n
    corder = ('ei', 'ai', 'er', 'ar')  # RFC 7296 2.17: initiator-to-responder first, encryption first
    ctotal = sum(len(child[k]) for k in corder)
    if prf_plus(prf, keys['d'], ni + nr, ctotal) != b''.join(child[k] for k in corder):
        sys.exit('CHILD_SA keys != prf+(SK_d, Ni | Nr)')

    hx = lambda b: b.hex()
    print(f'proposal={proposal}')
    print(f'esp_proposal={esp}')
    print(f'spi_i={spi_i.lower()}')
    print(f'spi_r={spi_r.lower()}')
    print(f'ni={hx(ni)}')
    print(f'nr={hx(nr)}')
    print(f'g_ir={hx(g_ir)}')
    print(f'skeyseed={hx(skeyseed)}')
    for k in ('d', 'ai', 'ar', 'ei', 'er', 'pi', 'pr'):
        print(f'sk_{k}={hx(keys[k])}')
    for k in ('ei', 'ai', 'er', 'ar'):
        print(f'child_{k}={hx(child[k])}')


if __name__ == '__main__':
    main()
