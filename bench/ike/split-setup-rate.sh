#!/usr/bin/env bash
# IKE_SA + CHILD_SA setups/s against three responders in one invocation (issue 12 item 7), in
# alternating rounds so that the machine's other load falls on all three alike:
#   charon  charon -> charon (bench/ike/charon-setup-rate.sh, one run per round);
#   gateway dev.keel.bench.ike.IkeSetupRate's initiator -> Keel's one-process gateway (GatewayMain);
#   split   the same initiator -> Keel's services apart, each its own JVM: two sad-service members,
#           policy-service, one SAD-fed esp-worker owning UDP 500 and 4500 and relaying IKE to
#           ike-service (docs/gateway.md, "Running the split").
# PSK, aes256gcm16-prfsha256-x25519, ESP aes256gcm16, IN_FLIGHT initiations outstanding from one
# address (Keel's default half-open limits send cookies from 32 half-open SAs of one address, so
# the default is 32: no cookie round trips), every IKE SA deleted once its CHILD SA is up.
# Topology: bench/ike/lib.sh's namespaces; the responder in gw-b (192.0.2.2), the initiator in gw-a.
#
# What "set up" means (the initiator counts a CHILD SA when its IKE_AUTH response arrived):
#   gateway: its IKE_AUTH response leaves once the CHILD SA is in the SAD and in its data plane
#            (GatewayNode's install-before-use wait), so the count is full path;
#   split:   ike-service's IKE_AUTH response leaves once InstallChildSas answered (both halves in
#            the SAD); the worker takes them from the SAD's Watch stream afterwards, so the count
#            is "in the SAD", not "in the worker" (the split does not wait for its worker yet);
#   charon:  both daemons install into kernel-libipsec before child-updown.
# The Keel initiator is an IKE engine without a data plane (as in keel-setup-rate.sh).
#
#   sudo bench/ike/split-setup-rate.sh [ROUNDS] [IN_FLIGHT] [WARMUP] [DURATION] [WARMUP_SAS] [JIT_SHARE] [CHARON_TOTAL]
#                                      (defaults: 3 32 20 20 2000 0.05 4000)
#   KEEL_SPLIT_KINDS="split" ...   runs only those responders of "charon gateway split" (profiling)
#   KEEL_SPLIT_JVM_FLAGS=-XX:StartFlightRecording=settings=profile,filename=/tmp/split-%p.jfr ...   (the responders)
# The Keel runs warm up as keel-setup-rate.sh does (WARMUP s and WARMUP_SAS SAs, then 5-s windows
# until the JIT threads use < JIT_SHARE of all the JVMs' CPU, at most KEEL_JIT_WINDOWS (24) of
# them), then count DURATION s. CPU per SA: all the processes of both sides.
# Results: bench/target/ike-results/split-setup-rate-<UTC>/ (env.txt, runs.jsonl, table.md, logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/ike/lib.sh
rounds=${1:-3}
in_flight=${2:-32}
warmup=${3:-20}
duration=${4:-20}
warmup_sas=${5:-2000}
jit_share=${6:-0.05}
charon_total=${7:-4000}
jit_windows=${KEEL_JIT_WINDOWS:-24}

. .mvn/jdk25.sh
source bench/ike/split-lib.sh
java="$JAVA_HOME/bin/java"
bench_jar=$PWD/bench/target/benchmarks.jar
if [ ! -f "$KS_GW_JAR" ] || [ ! -f "$bench_jar" ]; then
  mvn -q -B -o -pl gateway,bench -am package -DskipTests
fi
hz=$(getconf CLK_TCK)
psk=keel-bench-psk-keel-bench-psk   # BenchPeer's
out=$PWD/bench/target/ike-results/split-setup-rate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
work=$(mktemp -d /tmp/ks-split.XXXXXX)
cleanup() { ks_jvms_stop; ks_topology_down; rm -rf "$work"; }
trap cleanup EXIT
ks_sweep
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "java: $("$java" -version 2>&1 | sed -n 2p)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
  echo "command: $0 $rounds $in_flight $warmup $duration $warmup_sas $jit_share $charon_total"
} > "$out/env.txt"
cat "$out/env.txt"

gwa=$(ks_ns gwa); gwb=$(ks_ns gwb)

# ---- the responder's configuration (policy-service's part is the same for both Keel forms) ----
printf '%s' "$psk" > "$work/psk.txt"
export KEEL_SPLIT_PSK=$psk   # ike-service's --psk local=KEEL_SPLIT_PSK
mkdir -p "$work/admin"; chmod 700 "$work/admin"
cat > "$work/policy.yaml" <<YAML
secrets:
  local: {file: psk.txt}
connections:
  bench:
    local_addrs: 192.0.2.2
    remote_addrs: 192.0.2.1
    local:  {auth: psk, id: "responder.bench.keel.test", secret: local}
    remote: {auth: psk, id: "initiator.bench.keel.test"}
    proposals: aes256gcm16-prfsha256-x25519
    children:
      net:
        mode: tunnel
        local_ts: [10.2.0.0/24]
        remote_ts: [10.1.0.0/24]
        esp_proposals: aes256gcm16
        start_action: none
YAML
{ cat <<YAML
gateway:
  address: 192.0.2.2
  loops: 2
  admin: {socket: $work/admin/keel.sock}
  plaintext:
    tun: {name: keel0, mtu: 1400}
YAML
  cat "$work/policy.yaml"; } > "$work/gateway.yaml"
start_gateway() { # sets $responders
  ks_jvm "$gwb" "$out/$round-gateway.log" 'keel-gateway: started' dev.keel.gateway.GatewayMain \
    --config "$work/gateway.yaml" || return 1
  responders=$KS_PID; names=gateway
}

start_split() { # sets $responders (the JVMs' pids, comma-separated) and $names
  rm -f "$work"/*.log
  ks_split_start "$gwb" "$work" 192.0.2.2 1 || { cp "$work"/*.log "$out/" 2>/dev/null; return 1; }
  responders=$KS_SPLIT_PIDS; names=$KS_SPLIT_NAMES
}

keel_run() { # KIND: start the responder, run the initiator, stop the responder; appends to runs.jsonl
  local kind=$1 line load_before load_after ok=1 responders names
  # namespaces per run: charon-setup-rate.sh's ks_sweep removes ks-* namespaces older than 10 minutes
  ks_topology_up
  if [ "$kind" = split ]; then start_split || ok=0; else start_gateway || ok=0; fi
  if [ "$ok" = 0 ]; then
    echo "{\"kind\": \"$kind\", \"round\": $round, \"error\": \"responder did not start\"}" | tee -a "$out/runs.jsonl"
    ks_jvms_stop; ks_topology_down; return 0
  fi
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  line=$(timeout $(( warmup + duration + 5 * jit_windows + 420 )) ip netns exec "$gwa" "$java" $KEEL_JVM_FLAGS \
    -Xms512m -Xmx512m -cp "$bench_jar" dev.keel.bench.ike.IkeSetupRate --role initiator --loops 2 \
    --local 192.0.2.1:0 --nat-t-port 0 --peer 192.0.2.2:500 --in-flight "$in_flight" --warmup "$warmup" --warmup-sas "$warmup_sas" \
    --warmup-jit-share "$jit_share" --warmup-jit-windows "$jit_windows" --duration "$duration" \
    --responder-pid "$responders" --clk-tck "$hz" 2> "$out/$round-$kind-initiator.log" | tail -1 || true)
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  ks_jvms_stop
  ks_topology_down
  if [ "$kind" = split ]; then for f in "$work"/*.log; do cp "$f" "$out/$round-$(basename "$f")"; done; fi
  python3 -c '
import json, sys
d = json.loads(sys.argv[1] or "{}") or {"error": "initiator printed no result"}
d.update(kind=sys.argv[2], round=int(sys.argv[3]), load1_before=float(sys.argv[4]), load1_after=float(sys.argv[5]),
         uptime=sys.argv[6])
names = dict(zip(sys.argv[7].split(","), sys.argv[8].split(",")))  # pid -> service
if "responder_cpu_ms_per_sa_by_pid" in d:
    d["responder_cpu_ms_per_sa_by_process"] = {names.get(k, k): v for k, v in d.pop("responder_cpu_ms_per_sa_by_pid").items()}
print(json.dumps(d, sort_keys=True))' "$line" "$kind" "$round" "$load_before" "$load_after" "$(uptime)" "$responders" "$names" \
    | tee -a "$out/runs.jsonl"
}

charon_run() {
  local res
  res=$(bench/ike/charon-setup-rate.sh "$charon_total" "$in_flight" 1 2>&1 | tee "$out/$round-charon.log" \
    | sed -n 's/^results: //p')
  python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/runs.jsonl")] if sys.argv[1] else []
d = rows[-1] if rows else {"error": "no charon result"}
d.update(kind="charon", round=int(sys.argv[2]), uptime=sys.argv[3])
print(json.dumps(d, sort_keys=True))' "$res" "$round" "$(uptime)" | tee -a "$out/runs.jsonl"
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
  for kind in ${KEEL_SPLIT_KINDS:-charon gateway split}; do
    if [ "$kind" = charon ]; then charon_run; else keel_run "$kind"; fi
  done
done
echo "load after: $(uptime)" >> "$out/env.txt"

python3 - "$out/runs.jsonl" > "$out/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| round | responder | SAs ok | failed | seconds | IKE+CHILD SAs/s | CPU ms per SA (all processes) | of which responder | retransmissions | warm-up s / SAs / JIT windows | load1 before/after |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
for r in rows:
    if "error" in r:
        print(f"| {r['round']} | {r['kind']} | {r['error']} |||||||||")
        continue
    print(f"| {r['round']} | {r['kind']} | {r['ok']} | {r['failed']} | {r['seconds']} | {r['rate']} | {r['cpu_ms_per_sa']} |"
          f" {r.get('responder_cpu_ms_per_sa', '–')} | {r.get('retransmissions', '–')} |"
          f" {r.get('warmup_s', '–')} / {r.get('warmup_sas', '–')} / {r.get('warmup_jit_windows', '–')} |"
          f" {r['load1_before']} / {r['load1_after']} |")
for r in rows:
    if r.get("kind") == "split" and "responder_cpu_ms_per_sa_by_process" in r:
        print(f"\nround {r['round']}, split, CPU ms per SA by process: " + ", ".join(
            f"{k} {v}" for k, v in r["responder_cpu_ms_per_sa_by_process"].items()))
med = {}
for kind in ("charon", "gateway", "split"):
    rates = sorted(r["rate"] for r in rows if r["kind"] == kind and "rate" in r)
    med[kind] = rates[len(rates) // 2] if rates else 0
    print(f"\n{kind}: median {med[kind]} IKE+CHILD SAs/s over {len(rates)} runs ({', '.join(map(str, rates))})")
if med["charon"]:
    s, g = med["split"] / med["charon"], med["gateway"] / med["charon"]
    print(f"\nsplit / charon {s:.2f}x (target >= 2x: {'met' if s >= 2 else 'NOT met'}); gateway / charon {g:.2f}x;"
          f" split / gateway {med['split'] / max(1e-9, med['gateway']):.2f}x")
PY
cat "$out/table.md"
echo "results: $out"
