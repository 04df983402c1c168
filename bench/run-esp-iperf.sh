#!/usr/bin/env bash
# iperf3 TCP through a Keel tunnel between two network namespaces (docs/benchmarks.md, "iperf3
# through the TUN tunnel"): two keel-esp-worker processes (static SAs, TUN devices, one veth
# between the namespaces), iperf3 from A's TUN subnet to B's. Root, iproute2 and iperf3 needed.
#
#   sudo bench/run-esp-iperf.sh [seconds (5)] [esp suite (aes128gcm16)] [event loops (2)] [offload (true)]
#
# offload: the TUN devices' checksum/TCP segmentation offload with Keel's software GSO/GRO
# (docs/tun.md); false = one packet per read and write. KEEL_CP overrides the class path (e.g.
# module target/classes while iterating; default bench/target/benchmarks.jar).
#
# Everything it creates (namespaces kd-<random>-a/b, processes, temp files) is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
suite=${2:-aes128gcm16}
loops=${3:-2}
offload=${4:-true}

. .mvn/jdk25.sh
jar=$PWD/bench/target/benchmarks.jar
if [ -z "${KEEL_CP:-}" ]; then
  [ -f "$jar" ] || mvn -q -B -o -pl bench -am package -DskipTests
  KEEL_CP=$jar
fi

id=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
a=kd-$id-a; b=kd-$id-b
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for s in a b; do grep -h "keel-esp-worker: stopping" "$work/$s.log" 2>/dev/null | sed "s/^/worker $s: /" || true; done
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$a"; ip netns add "$b"
ip -n "$a" link set lo up; ip -n "$b" link set lo up
ip link add "kdv${id}a" netns "$a" type veth peer name "kdv${id}b" netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev "kdv${id}a"; ip -n "$a" link set "kdv${id}a" up
ip -n "$b" addr add 10.77.0.2/24 dev "kdv${id}b"; ip -n "$b" link set "kdv${id}b" up

keylen=36
case "$suite" in aes128gcm16) keylen=20 ;; aes256gcm16) keylen=36 ;; chacha20poly1305) keylen=36 ;; esac
head -c $keylen /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/ab.hex"
head -c $keylen /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/ba.hex"
site() { # local peer tun mine theirs inspi inkey outspi outkey
  cat <<YAML
listen: $1:4500
loops: $loops
keepalive: 0
plaintext:
  tun: {name: $3, addresses: [192.168.$4.1/24], offload: $offload}
sas:
  peer:
    peer: $2:4500
    esp: $suite
    replay_window: 1024
    local_ts: 192.168.$4.0/24
    remote_ts: 192.168.$5.0/24
    in: {spi: $6, enc_key: "file:$7"}
    out: {spi: $8, enc_key: "file:$9"}
YAML
}
site 10.77.0.1 10.77.0.2 "kdt${id}a" 71 72 0xc0000002 ba.hex 0xc0000001 ab.hex > "$work/a.yaml"
site 10.77.0.2 10.77.0.1 "kdt${id}b" 72 71 0xc0000001 ab.hex 0xc0000002 ba.hex > "$work/b.yaml"
for s in a b; do
  ns=$a; [ $s = b ] && ns=$b
  # shellcheck disable=SC2086
  ip netns exec "$ns" java $KEEL_JVM_FLAGS ${KEEL_JVM_EXTRA:-} -Xms256m -Xmx256m -cp "$KEEL_CP" dev.keel.esp.EspWorkerMain "$work/$s.yaml" \
    > "$work/$s.log" 2>&1 &
  pids+=($!)
done
for s in a b; do
  for _ in $(seq 1 600); do grep -q 'keel-esp-worker: started' "$work/$s.log" && break; sleep 0.1; done
  grep 'keel-esp-worker: started' "$work/$s.log" || { cat "$work/$s.log"; exit 1; }
done
# Warm-up (class loading, JIT): the first packets can take seconds on a loaded machine.
ip netns exec "$a" ping -c 1 -W 30 -I 192.168.71.1 192.168.72.1 > /dev/null || true
ip netns exec "$a" ping -c "${PINGS:-3}" -i 0.3 -W 5 -I 192.168.71.1 192.168.72.1 | tail -2 || { cat "$work/a.log" "$work/b.log"; exit 1; }
ip netns exec "$b" iperf3 -s -B 192.168.72.1 > "$work/server.log" 2>&1 &
pids+=($!)
sleep 0.5
# JIT warm-up, not reported: 2 s iperf3 rounds until the rate stops growing (< 15 % over the
# previous round, after at least 3), at most WARMUP_ROUNDS (10). A single 2 s round is not enough on a loaded
# machine: the C2 compiler threads get the same small CPU share as everything else, and a
# measurement of half-interpreted workers read 4 Mbit/s where the warm ones did 29 (docs).
prev=0
for round in $(seq 1 "${WARMUP_ROUNDS:-10}"); do
  rate=$(ip netns exec "$a" iperf3 -c 192.168.72.1 -B 192.168.71.1 -t 2 -f k 2>/dev/null \
    | awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) == "Kbits/sec") print int($i)}' || true)
  rate=${rate:-0}
  echo "warm-up round $round: $rate Kbit/s"
  [ "$round" -ge 3 ] && [ "$rate" -gt 0 ] && [ $((rate * 100)) -lt $((prev * 115)) ] && break
  prev=$rate
done
ip netns exec "$a" ping -c 20 -i 0.05 -W 5 -I 192.168.71.1 192.168.72.1 | tail -1 | sed 's/^/warm idle ping: /'
cpu() { awk '{s += $14 + $15} END {print s}' /proc/"${pids[0]}"/stat /proc/"${pids[1]}"/stat; }
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)"
echo "command: bench/run-esp-iperf.sh $secs $suite $loops $offload"
cpu0=$(cpu)
# DURING_RUN: a command run in the background for the measured seconds (e.g. perf record -a).
[ -n "${DURING_RUN:-}" ] && { bash -c "$DURING_RUN" & }
ip netns exec "$a" iperf3 -c 192.168.72.1 -B 192.168.71.1 -t "$secs" -f m | grep -E 'sender|receiver'
cpu1=$(cpu)
echo "worker CPU during the run (both JVMs, user+sys): $(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) )) ms"
echo "load after: $(uptime)"
