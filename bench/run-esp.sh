#!/usr/bin/env bash
# ESP data-plane benchmarks: JMH (bench/target/benchmarks.jar, classes Esp*) with -prof gc, then
# `openssl speed` for the same algorithms at the same sizes, then one markdown table
# (bench/esp-table.py). Results go to bench/target/esp-results/<UTC timestamp>/.
#
#   bench/run-esp.sh            full run, ~13 minutes on 2 cores
#   bench/run-esp.sh --quick    sizes 64 and 1400 only, short iterations, ~2 minutes
#
# Extra arguments after the flags are passed to JMH (e.g. -p suite=AES128_GCM16).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
jmh_extra=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) jmh_extra+=("$arg") ;;
  esac
done

# --- JDK 25 and the project's JVM flags (KEEL_JVM_FLAGS), plus a fixed heap ----------------------
. .mvn/jdk25.sh
heap="-Xms1g -Xmx1g"

jar=bench/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  echo "run-esp.sh: building $jar"
  mvn -q -B -o -pl bench -am package -DskipTests || mvn -q -B -pl bench -am package -DskipTests
fi

if [ "$quick" = 1 ]; then
  sizes=(64 1400)
  jmh_time=(-f 1 -wi 1 -w 1s -i 2 -r 500ms)
  ossl_seconds=1
else
  sizes=(64 512 1400 8192)
  jmh_time=(-f 1 -wi 3 -w 1s -i 5 -r 1s)
  ossl_seconds=2
fi
size_list=$(IFS=,; echo "${sizes[*]}")

out="bench/target/esp-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'aes|pclmulqdq|avx|avx2|avx512f|vaes|vpclmulqdq|sha_ni' | tr '\n' ' ')"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "kernel: $(uname -sr)"
  echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p)"
  echo "openssl: $(openssl version)"
  echo "jvm flags: $KEEL_JVM_FLAGS $heap"
  echo "mode: $([ "$quick" = 1 ] && echo quick || echo full)"
} > "$out/env.txt"
cat "$out/env.txt"

# --- JMH ----------------------------------------------------------------------------------------
# One thread, -prof gc for B/op. The JMH host JVM gets the project's flags and its forks inherit
# them (JMH passes the host's JVM arguments on); the forks add the fixed heap.
run_jmh() {
  local name=$1
  shift
  java $KEEL_JVM_FLAGS -jar "$jar" "$@" "${jmh_time[@]}" -prof gc \
    -jvmArgsAppend "$heap" \
    -rf json -rff "$out/$name.json" "${jmh_extra[@]}" 2>&1 | tee "$out/$name.txt"
}

run_jmh jmh-esp 'dev.keel.bench.Esp(En|De)capsulateBenchmark' -p size="$size_list"
run_jmh jmh-replay 'dev.keel.bench.EspReplayWindowBenchmark'
if [ "$quick" = 0 ]; then
  run_jmh jmh-gcm 'dev.keel.bench.EspAesGcmProviderBenchmark' -p size=64,1400,8192
fi

# --- OpenSSL speed at the same sizes --------------------------------------------------------------
# AEAD: -aead is the TLS-like per-record sequence (init with a new IV, AAD, en/decrypt, tag), the
# closest thing to an ESP packet. CBC+HMAC: the stitched EVP ciphers (aes-*-cbc-hmac-sha256) fail
# in `speed` on OpenSSL 3.0 (TLS-only ctrls), so AES-CBC and HMAC are timed apart and combined
# (per-byte times add). Both directions are timed; -mr makes the output parseable.
ossl() {
  local label=$1
  shift
  for n in "${sizes[@]}"; do
    echo "#run $label $n"
    openssl speed -elapsed -mr -seconds "$ossl_seconds" -bytes "$n" "$@" 2>/dev/null | grep '^+F' || echo "+F:failed"
  done
}
{
  ossl aes-128-gcm:enc -aead -evp aes-128-gcm
  ossl aes-128-gcm:dec -decrypt -aead -evp aes-128-gcm
  ossl aes-256-gcm:enc -aead -evp aes-256-gcm
  ossl aes-256-gcm:dec -decrypt -aead -evp aes-256-gcm
  ossl chacha20-poly1305:enc -aead -evp chacha20-poly1305
  ossl chacha20-poly1305:dec -decrypt -aead -evp chacha20-poly1305
  ossl aes-128-cbc:enc -evp aes-128-cbc
  ossl aes-128-cbc:dec -decrypt -evp aes-128-cbc
  ossl aes-256-cbc:enc -evp aes-256-cbc
  ossl aes-256-cbc:dec -decrypt -evp aes-256-cbc
  ossl hmac-sha256 -hmac sha256
  ossl hmac-sha384 -hmac sha384
  ossl hmac-sha512 -hmac sha512
} | tee "$out/openssl.txt"

echo "load after the run: $(uptime)" >> "$out/env.txt"

python3 bench/esp-table.py "$out" | tee "$out/table.md"
echo "run-esp.sh: results in $out"
