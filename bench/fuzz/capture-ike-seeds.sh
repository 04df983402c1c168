#!/usr/bin/env bash
# Captures the seed corpora of the IKE fuzz targets from a charon <-> charon exchange (PSK, NAT-T
# forced, so IKE moves to 4500 behind the non-ESP marker): IKE_SA_INIT, IKE_AUTH, a CHILD_SA rekey
# (CREATE_CHILD_SA), ESP traffic (ping), NAT keepalives and the delete (INFORMATIONAL). tshark records
# the outer veth; the initiator's charon log (ike=4) gives the IKE SA's SK_ei / SK_er, which the SK
# fuzz target uses so the captured protected requests verify.
#
#   sudo bench/fuzz/capture-ike-seeds.sh          (writes under ike-service/ and esp-worker/ src/test/resources)
#
# Every run gives new SPIs, nonces and keys. Needs root, iproute2, tshark, charon 5.9, swanctl, python3
# with the cryptography module (to open the SK payloads for the plaintext seeds).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/ike/lib.sh
ike=aes256gcm16-prfsha256-x25519 esp=aes256gcm16
res=ike-service/src/test/resources/dev/keel/ike/fuzz
udp=esp-worker/src/test/resources/dev/keel/esp/fuzz/EspInUdpFuzzTestInputs/classify
work=$(mktemp -d /tmp/ks-fuzzseeds.XXXXXX)
a=$work/a b=$work/b
cleanup() {
  [ -n "${tp:-}" ] && kill "$tp" 2>/dev/null || true
  ks_charon_stop "$a" 2>/dev/null || true; ks_charon_stop "$b" 2>/dev/null || true; ks_topology_down; rm -rf "$work"
}
trap cleanup EXIT
ks_sweep
ks_topology_up
mkdir -p "$a" "$b"
ks_charon_conf "$a" 4; ks_charon_conf "$b" 4
ks_swanctl_conf "$a" 192.0.2.1 192.0.2.2 gw-a.keel.test gw-b.keel.test keel-interop-psk "$ike" "$esp" 10.1.0.0/24 10.2.0.0/24 none
ks_swanctl_conf "$b" 192.0.2.2 192.0.2.1 gw-b.keel.test gw-a.keel.test keel-interop-psk "$ike" "$esp" 10.2.0.0/24 10.1.0.0/24 none
ip netns exec "$(ks_ns gwa)" tshark -q -i outer -w "$work/ike.pcap" -f "udp port 500 or udp port 4500" >"$work/tshark.log" 2>&1 &
tp=$!
sleep 2
ks_charon_start "$(ks_ns gwa)" "$a"; ks_charon_start "$(ks_ns gwb)" "$b"
ks_swanctl "$a" --load-all --file "$a/swanctl/swanctl.conf" >/dev/null
ks_swanctl "$b" --load-all --file "$b/swanctl/swanctl.conf" >/dev/null
ks_swanctl "$a" --initiate --child net --timeout 10 >"$a/initiate.out" 2>&1 || { cat "$a/initiate.out" >&2; exit 1; }
spis=$(ks_swanctl "$a" --list-sas --ike tunnel | grep -o '[0-9a-f]\{16\}_i\*\? [0-9a-f]\{16\}_r' | head -1)
spi_i=${spis%%_i*}; spi_r=$(echo "$spis" | awk '{print $2}'); spi_r=${spi_r%_r}
ip netns exec "$(ks_ns hosta)" ping -c 3 -i 0.2 -W 1 10.2.0.2 >/dev/null || true
ks_swanctl "$a" --rekey --child net >/dev/null 2>&1 || true
sleep 1
ip netns exec "$(ks_ns hosta)" ping -c 2 -i 0.2 -W 1 10.2.0.2 >/dev/null || true
ks_swanctl "$a" --terminate --ike tunnel --timeout 5 >/dev/null 2>&1 || true
sleep 2
kill "$tp"; wait "$tp" 2>/dev/null || true; tp=
python3 bench/ike/keychain-from-log.py "$a/charon.log" "$spi_i" "$spi_r" "$ike" "$esp" > "$work/keys.properties"
tshark -r "$work/ike.pcap" -T fields -e udp.dstport -e udp.payload > "$work/datagrams.txt"
version=$($CHARON_BIN --version 2>&1 | head -1 || true)
python3 - "$work/datagrams.txt" "$work/keys.properties" "$res" "$udp" "$version" <<'PY'
import os, sys, hashlib
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
datagrams, keyfile, res, udp, version = sys.argv[1:6]
keys = dict(l.strip().split('=', 1) for l in open(keyfile) if '=' in l and not l.startswith('#'))
def put(d, data, name=None):
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name or hashlib.sha1(data).hexdigest()), 'wb').write(data)
exchanges = {34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL'}
sealed_order = [35, 36, 37]  # SkPayloadFuzzTest.PROTECTED
for n, line in enumerate(open(datagrams)):
    port, payload = line.split()
    data = bytes.fromhex(payload)
    if port == '4500':
        put(udp, data)
        if len(data) < 4 or data[:4] != b'\0\0\0\0':
            continue  # ESP or a keepalive
        data = data[4:]
    ex, flags = data[18], data[19]
    what = '%02d-%s-%s' % (n, exchanges.get(ex, ex), 'response' if flags & 0x20 else 'request')
    put(res + '/IkeMessageFuzzTestInputs/decode', data, what)
    if ex == 34 or data[:8].hex() != keys['spi_i'] or flags & 0x20:
        continue  # SK under this IKE SA's initiator keys only
    put(res + '/SkPayloadFuzzTestInputs/openReceived', data, what)
    # RFC 5282: nonce = salt | 8-byte IV; AAD = IKE header and SK generic header; ICV 16 bytes
    key = bytes.fromhex(keys['sk_ei'])
    body = data[32:]
    plain = AESGCM(key[:-4]).decrypt(key[-4:] + body[:8], body[8:], data[:32])
    inner = plain[:len(plain) - 1 - plain[-1]]
    # FuzzedDataProvider reads picks from the end: exchange index last, first inner payload before it
    put(res + '/SkPayloadFuzzTestInputs/decodeSealedPlaintext', inner + bytes([data[28], sealed_order.index(ex)]), what)
with open(res + '/strongswan-ike-sa.properties', 'w') as f:
    f.write('# The IKE SA of the exchange the seeds here were captured from (bench/fuzz/capture-ike-seeds.sh),\n')
    f.write('# %s, charon <-> charon, PSK keel-interop-psk, initiator 192.0.2.1, NAT-T forced.\n' % version)
    for k in ('proposal', 'spi_i', 'spi_r', 'sk_ei', 'sk_ai', 'sk_er', 'sk_ar'):
        f.write('%s=%s\n' % (k, keys[k]))
PY
ls "$res"/*/* "$udp" | head -50
