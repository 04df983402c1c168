#!/usr/bin/env bash
# Reproduces the pinned IKEv2 key-derivation fixtures
# ike-service/src/test/resources/strongswan/keychain-<name>.properties: runs a charon <-> charon
# pair (PSK) in network namespaces with ike=4 and chd=4 filelog, initiates one IKE_SA + CHILD_SA
# per proposal, and extracts (and re-derives, as a check) the keys with keychain-from-log.py.
#
#   sudo bench/ike/capture-keychain.sh [OUTDIR]    (default: ike-service/src/test/resources/strongswan)
#
# Every run gives new SPIs, nonces and DH values: the fixtures are one recorded exchange, not a
# function of the inputs. Needs root, iproute2, charon 5.9 (kernel-libipsec), swanctl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/ike
source "$here/lib.sh"
out=${1:-ike-service/src/test/resources/strongswan}
mkdir -p "$out"
work=$(mktemp -d /tmp/ks-keychain.XXXXXX)
cleanup() { ks_charon_stop "$work/a" 2>/dev/null || true; ks_charon_stop "$work/b" 2>/dev/null || true; ks_topology_down; rm -rf "$work"; }
trap cleanup EXIT
ks_sweep
ks_topology_up
version=$($CHARON_BIN --version 2>&1 | head -1 || true)
[ -n "$version" ] || version="strongSwan $(swanctl --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)"

capture() {
  local name=$1 ike=$2 esp=$3 a=$work/a b=$work/b spis spi_i spi_r
  ks_charon_stop "$a" 2>/dev/null || true; ks_charon_stop "$b" 2>/dev/null || true
  rm -rf "$a" "$b"; mkdir -p "$a" "$b"
  ks_charon_conf "$a" 4; ks_charon_conf "$b" 4
  ks_swanctl_conf "$a" 192.0.2.1 192.0.2.2 gw-a.keel.test gw-b.keel.test keel-interop-psk "$ike" "$esp" 10.1.0.0/24 10.2.0.0/24 none
  ks_swanctl_conf "$b" 192.0.2.2 192.0.2.1 gw-b.keel.test gw-a.keel.test keel-interop-psk "$ike" "$esp" 10.2.0.0/24 10.1.0.0/24 none
  ks_charon_start "$(ks_ns gwa)" "$a"; ks_charon_start "$(ks_ns gwb)" "$b"
  ks_swanctl "$a" --load-all --file "$a/swanctl/swanctl.conf" >/dev/null
  ks_swanctl "$b" --load-all --file "$b/swanctl/swanctl.conf" >/dev/null
  ks_swanctl "$a" --initiate --child net --timeout 10 >"$a/initiate.out" 2>&1 || { cat "$a/initiate.out" >&2; return 1; }
  # "tunnel: #1, ESTABLISHED, IKEv2, <spi>_i* <spi>_r" (the * marks the local side)
  spis=$(ks_swanctl "$a" --list-sas --ike tunnel | grep -o '[0-9a-f]\{16\}_i\*\? [0-9a-f]\{16\}_r' | head -1)
  spi_i=${spis%%_i*}; spi_r=$(echo "$spis" | awk '{print $2}'); spi_r=${spi_r%_r}
  local tmp=$work/$name.properties
  {
    echo "# IKEv2 key chain of one charon <-> charon exchange (PSK), pinned for Keel's IKE crypto tests."
    echo "# Produced by: bench/ike/capture-keychain.sh (charon filelog ike=4 chd=4, initiator's log;"
    echo "#   the responder's log gives the same values), checked by re-deriving SKEYSEED, SK_* and"
    echo "#   the CHILD_SA keys with HMAC-SHA-256 (RFC 7296 2.13, 2.14, 2.17) in keychain-from-log.py."
    echo "# $version, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "# PSK: keel-interop-psk; IDi gw-a.keel.test, IDr gw-b.keel.test (FQDN); initiator 192.0.2.1, responder 192.0.2.2, UDP encap (NAT-T forced)"
    echo "# ni/nr: the 64-byte CHILD_SA key seed Ni | Nr split 32/32 (strongSwan nonces are 32 bytes)."
    echo "# child_ei/child_ai: initiator->responder; child_er/child_ar: responder->initiator. For AEAD the"
    echo "#   encryption key includes the 4-byte salt at its end (RFC 4106 8.1), as strongSwan logs it. Empty = not used."
    python3 "$here/keychain-from-log.py" "$a/charon.log" "$spi_i" "$spi_r" "$ike" "$esp"
  } > "$tmp"
  # The responder must have derived the same keys.
  diff <(python3 "$here/keychain-from-log.py" "$a/charon.log" "$spi_i" "$spi_r" "$ike" "$esp") \
       <(python3 "$here/keychain-from-log.py" "$b/charon.log" "$spi_i" "$spi_r" "$ike" "$esp") >/dev/null \
    || { echo "initiator and responder logs disagree for $name" >&2; return 1; }
  cp "$tmp" "$out/keychain-$name.properties"
  echo "wrote $out/keychain-$name.properties"
}

capture aes256gcm16-prfsha256-x25519 aes256gcm16-prfsha256-x25519 aes256gcm16
capture aes128-sha256-modp2048 aes128-sha256-modp2048 aes128-sha256
