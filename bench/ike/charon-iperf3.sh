#!/usr/bin/env bash
# Baseline: iperf3 TCP throughput through a charon <-> charon tunnel (kernel-libipsec, ESP in UDP
# 4500) across the bench/ike/lib.sh namespace topology, per ESP proposal, plus the same path
# without IPsec (plain routed veths) as the ceiling.
#
#   sudo bench/ike/charon-iperf3.sh [SECONDS] [REPEATS]     (defaults: 10 s, 3 runs per case)
#
# Results: bench/target/ike-results/iperf3-<UTC>/ (env.txt, raw iperf3 JSON, table.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/ike/lib.sh
secs=${1:-10}
reps=${2:-3}
out=bench/target/ike-results/iperf3-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
work=$(mktemp -d /tmp/ks-iperf.XXXXXX)
cleanup() { ks_charon_stop "$work/a" 2>/dev/null || true; ks_charon_stop "$work/b" 2>/dev/null || true; ks_topology_down; rm -rf "$work"; }
trap cleanup EXIT
ks_sweep
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "charon: $($CHARON_BIN --version 2>&1 | head -1)"
  echo "iperf3: $(iperf3 --version | head -1)"
  echo "command: $0 $secs $reps"
} > "$out/env.txt"
cat "$out/env.txt"

ha=$(ks_ns hosta); hb=$(ks_ns hostb)
run_iperf() { # label -> appends one Gbit/s figure per repeat to $out/<label>.txt
  local label=$1 i
  for i in $(seq 1 "$reps"); do
    ip netns exec "$hb" iperf3 -s -1 -B 10.2.0.2 >/dev/null 2>&1 &
    local srv=$!
    for _ in $(seq 1 50); do ip netns exec "$hb" ss -ltn | grep -q ':5201 ' && break; sleep 0.1; done
    timeout $((secs + 15)) ip netns exec "$ha" iperf3 -c 10.2.0.2 -t "$secs" -J > "$out/$label-$i.json"
    wait "$srv" || true
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' \
      "$out/$label-$i.json" | tee -a "$out/$label.txt"
  done
}

tunnel() { # name ike esp
  local name=$1 ike=$2 esp=$3 a=$work/a b=$work/b
  ks_charon_stop "$a" 2>/dev/null || true; ks_charon_stop "$b" 2>/dev/null || true
  rm -rf "$a" "$b"; mkdir -p "$a" "$b"
  ks_charon_conf "$a" 1; ks_charon_conf "$b" 1
  ks_swanctl_conf "$a" 192.0.2.1 192.0.2.2 gw-a.keel.test gw-b.keel.test keel-bench-psk "$ike" "$esp" 10.1.0.0/24 10.2.0.0/24 none
  ks_swanctl_conf "$b" 192.0.2.2 192.0.2.1 gw-b.keel.test gw-a.keel.test keel-bench-psk "$ike" "$esp" 10.2.0.0/24 10.1.0.0/24 none
  ks_charon_start "$(ks_ns gwa)" "$a"; ks_charon_start "$(ks_ns gwb)" "$b"
  ks_swanctl "$a" --load-all --file "$a/swanctl/swanctl.conf" >/dev/null
  ks_swanctl "$b" --load-all --file "$b/swanctl/swanctl.conf" >/dev/null
  ks_swanctl "$a" --initiate --child net --timeout 10 >/dev/null
  echo "== $name ($ike / ESP $esp)"
  run_iperf "$name"
  # Proof the traffic took the CHILD_SA (table 220 beats the plain route): its inbound byte count.
  ks_swanctl "$b" --list-sas | tee "$out/$name-sas.txt" | grep -E 'ESP|in '
}

ks_topology_up
# Plain routes between the protected subnets: the no-IPsec ceiling of this topology.
ip -n "$(ks_ns gwa)" route add 10.2.0.0/24 via 192.0.2.2
ip -n "$(ks_ns gwb)" route add 10.1.0.0/24 via 192.0.2.1
echo "== plain (no IPsec)"
run_iperf plain
tunnel aes256gcm16 aes256gcm16-prfsha256-x25519 aes256gcm16
tunnel aes128-sha256 aes128-sha256-modp2048 aes128-sha256
echo "load after: $(uptime)" >> "$out/env.txt"

{
  echo "| path | runs (Gbit/s, receiver) | median Gbit/s |"
  echo "|---|---|---:|"
  for l in plain aes256gcm16 aes128-sha256; do
    echo "| $l | $(paste -sd' ' "$out/$l.txt") | $(sort -n "$out/$l.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') |"
  done
} > "$out/table.md"
cat "$out/table.md"
echo "results: $out"
