#!/usr/bin/env bash
# Issue #4 target in one run: iperf3 TCP through the Keel netns TUN tunnel against strongSwan's
# kernel-libipsec in the same session, back to back (docs/benchmarks.md, "Gateway pair and TUN
# tunnel"). Alternates, REPEATS times: Keel with offloads (TUN GSO/GRO + UDP GSO), Keel without
# them (the previous data path), charon <-> charon; prints every figure, the medians and the ratio.
#
#   sudo bench/run-esp-vs-charon.sh [seconds (5)] [repeats (3)] [keel suite (aes256gcm16)] [loops (1)]
#
# charon runs aes256gcm16 (bench/ike/charon-iperf3.sh's AEAD proposal); Keel the same by default.
# About (45 + 40 + 45) s per repeat with 5 s runs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${2:-3}
suite=${3:-aes256gcm16}
loops=${4:-1}
keel_on=(); keel_off=(); charon=()
mbit() { awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i}' | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for r in $(seq 1 "$reps"); do
  on=$({ bench/run-esp-iperf.sh "$secs" "$suite" "$loops" true 2>&1 || true; } | mbit)
  off=$({ KEEL_JVM_EXTRA="-Dkeel.udp.gso=false ${KEEL_JVM_EXTRA:-}" bench/run-esp-iperf.sh "$secs" "$suite" "$loops" false 2>&1 || true; } | mbit)
  ch=$({ bench/ike/charon-iperf3.sh "$secs" 1 2>&1 || true; } | awk -F'|' '$2 ~ /aes256gcm16/ {gsub(/ /, "", $4); print $4 * 1000}')
  echo "round $r ($(date -u +%H:%M:%S) UTC, $(uptime | sed 's/.*load average: //')): Keel offload ${on:-0}, Keel no offload ${off:-0}, charon ${ch:-0} Mbit/s"
  keel_on+=("${on:-0}"); keel_off+=("${off:-0}"); charon+=("${ch:-0}")
done
m_on=$(median "${keel_on[@]}"); m_off=$(median "${keel_off[@]}"); m_ch=$(median "${charon[@]}")
echo "medians: Keel offload $m_on, Keel no offload $m_off, charon kernel-libipsec $m_ch Mbit/s"
awk -v a="$m_on" -v b="$m_off" -v c="$m_ch" 'BEGIN {
  if (c > 0) printf "issue #4 target, Keel >= 5x charon: %.2fx -> %s (without offloads %.2fx)\n", a / c, (a / c >= 5 ? "met" : "NOT met"), b / c }'
