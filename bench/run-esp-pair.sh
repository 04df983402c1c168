#!/usr/bin/env bash
# Gateway-pair throughput on loopback (docs/benchmarks.md, "Gateway pair"): two Keel gateways
# with static SAs and UDP virtual wires, packets/s and Gbit/s at 64 and 1400 B with one and two
# event loops, each next to the crypto-free UDP relay over the same path (the ceiling).
#
#   bench/run-esp-pair.sh [seconds per run (3)] [suite (AES128_GCM16)] [sizes (64,1400)] [loops (1,2)] [repeats (3)]
#
# Each row is the median of `repeats` alternating relay/ESP runs; the last line prints the issue #4
# target (ESP >= 0.6x relay at 1400 B) from this one run. KEEL_CP overrides the class path.
#
# Results: bench/target/esp-pair/<UTC time>/{env.txt,table.md,log.txt}.
set -euo pipefail
cd "$(dirname "$0")/.."

. .mvn/jdk25.sh

jar=bench/target/benchmarks.jar
if [ -n "${KEEL_CP:-}" ]; then
  jar=$KEEL_CP
elif [ ! -f "$jar" ]; then
  mvn -q -B -o -pl bench -am package -DskipTests || mvn -q -B -pl bench -am package -DskipTests
fi

out="bench/target/esp-pair/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "java: $(java -version 2>&1 | sed -n 2p)"
  echo "command: bench/run-esp-pair.sh $*"
} > "$out/env.txt"
cat "$out/env.txt"
# shellcheck disable=SC2086
java $KEEL_JVM_FLAGS -Xms512m -Xmx512m -cp "$jar" dev.keel.bench.EspGatewayPairRun "$@" > "$out/table.md" 2> "$out/log.txt" \
  || { tail -20 "$out/log.txt" >&2; exit 1; }
echo "load after: $(uptime)" >> "$out/env.txt"
cat "$out/table.md"
tail -1 "$out/env.txt"
