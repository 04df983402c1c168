#!/usr/bin/env bash
# Reproduces crypto/strongswan-psk-auth.properties: run as root from anywhere, then parse
# /tmp/kk-auth/a/charon.log (IDx', SK_p, octets, secret, AUTH blocks). Uses the strongSwan helper's bench/ike/lib.sh.
# One charon<->charon PSK exchange with ike=4 logs, kept in /tmp/kk-auth/{a,b}/charon.log
set -euo pipefail
export KS_PREFIX=kk-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
source "$(dirname "$0")/../../../../../bench/ike/lib.sh"
work=/tmp/kk-auth
a=$work/a b=$work/b
cleanup() { ks_charon_stop "$a" 2>/dev/null || true; ks_charon_stop "$b" 2>/dev/null || true; ks_topology_down; }
trap cleanup EXIT
rm -rf "$a" "$b"; mkdir -p "$a" "$b"
ks_topology_up
ike=${1:-aes256gcm16-prfsha256-x25519}; esp=${2:-aes256gcm16}
ks_charon_conf "$a" 4; ks_charon_conf "$b" 4
ks_swanctl_conf "$a" 192.0.2.1 192.0.2.2 gw-a.keel.test gw-b.keel.test keel-interop-psk "$ike" "$esp" 10.1.0.0/24 10.2.0.0/24 none
ks_swanctl_conf "$b" 192.0.2.2 192.0.2.1 gw-b.keel.test gw-a.keel.test keel-interop-psk "$ike" "$esp" 10.2.0.0/24 10.1.0.0/24 none
ks_charon_start "$(ks_ns gwa)" "$a"; ks_charon_start "$(ks_ns gwb)" "$b"
ks_swanctl "$a" --load-all --file "$a/swanctl/swanctl.conf" >/dev/null
ks_swanctl "$b" --load-all --file "$b/swanctl/swanctl.conf" >/dev/null
ks_swanctl "$a" --initiate --child net --timeout 10 > "$a/initiate.out" 2>&1
ks_swanctl "$a" --list-sas --ike tunnel | head -3
charon --version 2>/dev/null || $CHARON_BIN --version 2>&1 | head -1 || true
