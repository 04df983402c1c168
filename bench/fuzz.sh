#!/usr/bin/env bash
# Runs Keel's Jazzer fuzz targets (docs/security.md, "Fuzzing") with Jazzer's own driver, one JVM
# per target, and prints executions, executions per second and coverage (libFuzzer's cov: edges,
# ft: features) of each.
#
#   bench/fuzz.sh [--runs N | --seconds S] [--jobs J] [TARGET...]
#       default: --runs 10000000, every target, as many targets at once as there are cores
#
# TARGET is module:Class#method (see TARGETS below). A finding stops that target, leaves the
# crashing input as crash-<sha1> in $KEEL_FUZZ_CORPUS/findings/ and exits non-zero at the end. The
# corpus a run grows stays there too (KEEL_FUZZ_CORPUS, default /tmp/keel-fuzz-corpus): nothing is
# written to the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
PATH=$JAVA_HOME/bin:$PATH

TARGETS=(
  ike-service:dev.keel.ike.fuzz.IkeMessageFuzzTest#decode
  ike-service:dev.keel.ike.fuzz.SkPayloadFuzzTest#openReceived
  ike-service:dev.keel.ike.fuzz.SkPayloadFuzzTest#decodeSealedPlaintext
  ike-service:dev.keel.ike.fuzz.TrafficSelectorNarrowingFuzzTest#narrowsWithinBothSides
  ike-service:dev.keel.ike.fuzz.ResponderFuzzTest#datagramSequences
  esp-worker:dev.keel.esp.fuzz.EspDecapsulationFuzzTest#decapsulateReceived
  esp-worker:dev.keel.esp.fuzz.EspDecapsulationFuzzTest#decapsulateSealed
  esp-worker:dev.keel.esp.fuzz.EspInUdpFuzzTest#classify
  sad-service:dev.keel.sad.fuzz.ValidationFuzzTest#installChildSa
  sad-service:dev.keel.sad.fuzz.ValidationFuzzTest#updateChildSa
  sad-service:dev.keel.sad.fuzz.SaServiceFuzzTest#call
  policy-service:dev.keel.policy.fuzz.PolicyConfigFuzzTest#load
  policy-service:dev.keel.policy.fuzz.PolicyServiceFuzzTest#call
  ike-service:dev.keel.ike.fuzz.IkeServiceFuzzTest#call
  ike-service:dev.keel.ike.fuzz.IkeRelayFuzzTest#relay
  gateway:dev.keel.gateway.fuzz.GatewaySettingsFuzzTest#read
)
limit=(-runs=10000000 -max_total_time=0)
jobs=$(nproc 2>/dev/null || echo 1)
chosen=()
while [ $# -gt 0 ]; do
  case $1 in
    # -max_total_time=0 lifts the @FuzzTest's own maxDuration (15 s), which would end the run first
    --runs) limit=(-runs="$2" -max_total_time=0); shift 2 ;;
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) chosen+=("$1"); shift ;;
  esac
done
[ ${#chosen[@]} -gt 0 ] || chosen=("${TARGETS[@]}")
case "$jobs" in ''|*[!0-9]*|0) echo "$0: --jobs needs a positive number, not '$jobs'" >&2; exit 2 ;; esac

modules=$(printf '%s\n' "${chosen[@]}" | cut -d: -f1 | sort -u | paste -sd,)
echo "fuzz.sh: compiling $modules" >&2
mvn -q -B test-compile dependency:build-classpath -pl "$modules" -am \
    -Dmdep.outputFile=target/fuzz.classpath -Dmdep.includeScope=test >&2

jvm_flags=$(sed -n 's|.*<keel.jvm.flags>\(.*\)</keel.jvm.flags>.*|\1|p' pom.xml)
corpus_root=${KEEL_FUZZ_CORPUS:-/tmp/keel-fuzz-corpus}
findings=$corpus_root/findings
mkdir -p "$findings"
failed=0
# Only severe log lines: the targets log every SA they make and drop, which would cost most of the time.
logging=$corpus_root/logging.properties
printf 'handlers=java.util.logging.ConsoleHandler\n.level=SEVERE\n' >"$logging"
# One target: runs Jazzer, then writes its figures line to $corpus_root/<Class>-<method>.result.
fuzz_one() {
  local t=$1 module rest class method simple inputs corpus log seeds rc last execs rate cov ft result
  module=${t%%:*} rest=${t#*:}; class=${rest%%#*} method=${rest#*#}
  simple=${class##*.}
  inputs=$module/src/test/resources/$(echo "${class%.*}" | tr . /)/${simple}Inputs/$method
  corpus=$corpus_root/$simple/$method
  log=$corpus_root/$simple-$method.log
  mkdir -p "$corpus"
  seeds=(); [ -d "$inputs" ] && seeds=("$inputs")
  set +e
  java $jvm_flags -Djava.util.logging.config.file="$logging" \
      -cp "$module/target/test-classes:$module/target/classes:$(cat "$module/target/fuzz.classpath")" \
      com.code_intelligence.jazzer.Jazzer --target_class="$class" --target_method="$method" \
      "${limit[@]}" -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | cut -d' ' -f2)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | cut -d' ' -f2)
  result=ok; [ $rc -eq 0 ] || result="FAILED (rc $rc, $log)"
  printf '%-62s %12s %9s %7s %7s %s\n' "$simple#$method" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
      "$result" >"$corpus_root/$simple-$method.result"
}

# Jazzer fuzzes on one thread: run as many targets at once as there are cores (--jobs).
printf '%-62s %12s %9s %7s %7s %s\n' target executions exec/s cov ft result
results=()
running=0
for t in "${chosen[@]}"; do
  rest=${t#*:}; class=${rest%%#*}
  results+=("$corpus_root/${class##*.}-${rest#*#}.result")
  rm -f "${results[-1]}"
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait || true
for r in "${results[@]}"; do
  if [ -f "$r" ]; then
    cat "$r"
    grep -q ' ok$' "$r" || failed=1
  else
    echo "$(basename "$r" .result): no result"; failed=1
  fi
done
exit $failed
