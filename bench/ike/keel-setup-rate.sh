#!/usr/bin/env bash
# IKE_SA + CHILD_SA establishment rate Keel -> Keel on loopback (PSK, aes256gcm16-prfsha256-x25519,
# ESP aes256gcm16), the counterpart of bench/ike/charon-setup-rate.sh. Two JVMs, like two charons:
# a responder on 127.0.0.2:PORT and an initiator on 127.0.0.1 (dev.keel.bench.ike.IkeSetupRate),
# real UDP sockets (Vert.x, dev.keel.ike.net.UdpIkeSockets), IN_FLIGHT initiations outstanding,
# every IKE SA deleted once its CHILD_SA is up. After a warm-up of at least WARMUP seconds and
# WARMUP_SAS established SAs (the JIT needs CPU time, which a busy machine hands out slowly), and
# then until the JIT compiler threads use less than JIT_SHARE of both JVMs' CPU over 5 s (at most
# 300 s more; a gateway runs for hours with its compilers idle), SAs established in DURATION
# seconds are counted; CPU time of both JVMs in that window gives CPU ms per SA, also split by
# thread kind (event loops, JIT, GC, other). No root needed.
#
#   bench/ike/keel-setup-rate.sh [IN_FLIGHT] [RUNS] [WARMUP] [DURATION] [WARMUP_SAS] [JIT_SHARE]
#                                (defaults: 64 3 20 30 2000 0.05; JIT_SHARE 1 skips that wait)
#   KEEL_JFR=1 ...   also records a JFR profile of each JVM (whole run; bench/ike/jfr-top.py reads the window)
#   KEEL_LOOPS=N ... Vert.x event loops per JVM (default 2, a gateway's setting on 2 cores; 1 saves
#                    the hops between the socket's loop and the IKE SAs' but measured slower)
#
# Results: bench/target/ike-results/keel-setup-rate-<UTC>/ (env.txt, runs.jsonl, table.md, logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
in_flight=${1:-64}
runs=${2:-3}
warmup=${3:-20}
duration=${4:-30}
warmup_sas=${5:-2000}
jit_share=${6:-0.05}

. .mvn/jdk25.sh   # JAVA_HOME, PATH and KEEL_JVM_FLAGS (the root pom's keel.jvm.flags)
java="$JAVA_HOME/bin/java"
heap="-Xms512m -Xmx512m"
jar=bench/target/benchmarks.jar
classpath=${KEEL_BENCH_CLASSPATH:-$jar}  # KEEL_BENCH_CLASSPATH: compare builds without rebuilding the jar
if [ ! -f "$jar" ]; then
  echo "keel-setup-rate.sh: building $jar"
  mvn -q -B -o -pl bench -am package -DskipTests || mvn -q -B -pl bench -am package -DskipTests
fi
main=dev.keel.bench.ike.IkeSetupRate
loops=${KEEL_LOOPS:-2}
hz=$(getconf CLK_TCK)

out=bench/target/ike-results/keel-setup-rate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -sr)"
  echo "java: $("$java" -version 2>&1 | sed -n 2p)"
  echo "jvm flags: $KEEL_JVM_FLAGS $heap"
  echo "event loops per JVM: $loops"
  echo "command: $0 $in_flight $runs $warmup $duration $warmup_sas $jit_share"
} > "$out/env.txt"
cat "$out/env.txt"

responder_pid=""
cleanup() {
  if [ -n "$responder_pid" ] && kill -0 "$responder_pid" 2>/dev/null; then
    kill "$responder_pid" 2>/dev/null || true
    sleep 1
    kill -9 "$responder_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

for run in $(seq 1 "$runs"); do
  jfr_r=(); jfr_i=()
  if [ "${KEEL_JFR:-0}" = 1 ]; then
    jfr_r=("-XX:StartFlightRecording=settings=profile,filename=$out/responder-$run.jfr")
    jfr_i=("-XX:StartFlightRecording=settings=profile,filename=$out/initiator-$run.jfr")
  fi
  port=""
  for attempt in 1 2 3 4 5; do
    candidate=$(( 20000 + RANDOM % 20000 ))
    : > "$out/responder-$run.out"
    "$java" $KEEL_JVM_FLAGS $heap "${jfr_r[@]}" -cp "$classpath" $main --role responder --loops "$loops" --local "127.0.0.2:$candidate" \
      > "$out/responder-$run.out" 2> "$out/responder-$run.log" &
    responder_pid=$!
    for _ in $(seq 1 600); do  # up to 60 s: JVM start and the engine's crypto warm-up on a busy machine
      grep -q '^ready' "$out/responder-$run.out" && break
      kill -0 "$responder_pid" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q '^ready' "$out/responder-$run.out"; then port=$candidate; break; fi
    cleanup; responder_pid=""
  done
  [ -n "$port" ] || { echo "keel-setup-rate.sh: responder did not start (see $out/responder-$run.log)" >&2; exit 1; }
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  initiator_line=$(timeout $(( warmup + duration + 780 )) "$java" $KEEL_JVM_FLAGS $heap "${jfr_i[@]}" -cp "$classpath" $main \
    --role initiator --loops "$loops" --local 127.0.0.1:0 --peer "127.0.0.2:$port" --in-flight "$in_flight" \
    --warmup "$warmup" --warmup-sas "$warmup_sas" --warmup-jit-share "$jit_share" --duration "$duration" --responder-pid "$responder_pid" --clk-tck "$hz" \
    2> "$out/initiator-$run.log" | tail -1)
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  kill "$responder_pid"
  wait "$responder_pid" 2>/dev/null || true
  responder_pid=""
  responder_line=$(grep '^{' "$out/responder-$run.out" | tail -1)
  line=$(python3 -c '
import json, sys
i = json.loads(sys.argv[1]); r = json.loads(sys.argv[2] or "{}")
i.update(run=int(sys.argv[3]), load1_before=float(sys.argv[4]), load1_after=float(sys.argv[5]),
         responder_ike_sas_left=r.get("ike_sas_left"), responder_half_open_left=r.get("half_open_left"),
         retransmissions_responder=r.get("retransmissions"), blocked_thread_events_responder=r.get("blocked_thread_events"))
w = json.loads(i.get("window_ms", "[0,0]"))
i["blocked_thread_events_in_window"] = i.get("blocked_thread_events_in_window", 0) + sum(
    1 for t in json.loads(r.get("blocked_thread_event_times_ms", "[]")) if w[0] <= t <= w[1])
print(json.dumps(i, sort_keys=True))' "$initiator_line" "$responder_line" "$run" "$load_before" "$load_after")
  echo "$line" | tee -a "$out/runs.jsonl"
done
echo "load after: $(uptime)" >> "$out/env.txt"
python3 - "$out/runs.jsonl" > "$out/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| run | SAs ok | failed | seconds | IKE+CHILD SAs/s | CPU ms per SA (both JVMs) | of which event loops / JIT / GC | retransmissions | blocked-thread events (i/r; in window) | tables empty (i/r) | warm-up s / SAs | load1 before/after |")
print("|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|")
for r in rows:
    t = r.get('cpu_ms_per_sa_by_thread', {})
    print(f"| {r['run']} | {r['ok']} | {r['failed']} | {r['seconds']} | {r['rate']} | {r['cpu_ms_per_sa']} |"
          f" {t.get('event_loops')} / {t.get('jit')} / {t.get('gc')} | {r['retransmissions']} |"
          f" {r['blocked_thread_events']} / {r['blocked_thread_events_responder']}; {r['blocked_thread_events_in_window']} |"
          f" {r['ike_sas_left']} / {r['responder_ike_sas_left']} | {r['warmup_s']} / {r['warmup_sas']} |"
          f" {r['load1_before']} / {r['load1_after']} |")
rates = sorted(r['rate'] for r in rows)
cpus = sorted(r['cpu_ms_per_sa'] for r in rows)
print(f"\nmedian {rates[len(rates)//2]} IKE+CHILD SAs/s over {len(rows)} runs, {rows[0]['in_flight']} in flight;"
      f" median {cpus[len(cpus)//2]} ms CPU per SA (initiator + responder JVMs)")
PY
cat "$out/table.md"
echo "results: $out"
