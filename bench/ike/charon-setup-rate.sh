#!/usr/bin/env bash
# Baseline: IKE_SA + CHILD_SA establishment rate charon -> charon on this machine (PSK,
# aes256gcm16-prfsha256-x25519, ESP aes256gcm16, kernel-libipsec on both sides, ESP in UDP), with
# IN_FLIGHT exchanges in progress at a time. Debian's strongSwan has no load-tester plugin, so
# bench/ike/vici-setup-rate.py drives the initiator over vici (charon.reuse_ikesa = no: every
# initiate makes a new IKE_SA with its CHILD_SA in IKE_AUTH). Fresh daemons for every run.
#
#   sudo bench/ike/charon-setup-rate.sh [TOTAL] [IN_FLIGHT] [RUNS]    (defaults: 2000 64 3)
#
# Results: bench/target/ike-results/setup-rate-<UTC>/ (env.txt, runs.jsonl, table.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/ike/lib.sh
total=${1:-2000}
in_flight=${2:-64}
runs=${3:-3}
ike=aes256gcm16-prfsha256-x25519
esp=aes256gcm16
out=bench/target/ike-results/setup-rate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
work=$(mktemp -d /tmp/ks-rate.XXXXXX)
cleanup() { ks_charon_stop "$work/a" 2>/dev/null || true; ks_charon_stop "$work/b" 2>/dev/null || true; ks_topology_down; rm -rf "$work"; }
trap cleanup EXIT
ks_sweep
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "charon: $($CHARON_BIN --version 2>&1 | head -1)"
  echo "command: $0 $total $in_flight $runs"
} > "$out/env.txt"
cat "$out/env.txt"

# Daemon knobs for many SAs: no IKE_SA reuse (initiator), big IKE_SA hash table (the default is one
# bucket), DoS protection off (cookies from 30 half-open SAs, per-peer block from 5 would throttle
# one initiator with 64 in flight), logging at level 0 (the driver also asks for no vici log).
knobs='reuse_ikesa = no
  ikesa_table_size = 4096
  ikesa_table_segments = 16
  dos_protection = no
  cookie_threshold = 1000000
  block_threshold = 1000000
  init_limit_half_open = 0
  install_routes = no'
# utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ks_topology_up
for run in $(seq 1 "$runs"); do
  a=$work/a; b=$work/b
  ks_charon_stop "$a" 2>/dev/null || true; ks_charon_stop "$b" 2>/dev/null || true
  rm -rf "$a" "$b"; mkdir -p "$a" "$b"
  KS_LOG_DEFAULT=0 ks_charon_conf "$a" 0 "$knobs"; KS_LOG_DEFAULT=0 ks_charon_conf "$b" 0 "$knobs"
  ks_swanctl_conf "$a" 192.0.2.1 192.0.2.2 gw-a.keel.test gw-b.keel.test keel-bench-psk "$ike" "$esp" 10.1.0.0/24 10.2.0.0/24 none
  KS_CONN_EXTRA='unique = never' ks_swanctl_conf "$b" 192.0.2.2 192.0.2.1 gw-b.keel.test gw-a.keel.test keel-bench-psk "$ike" "$esp" 10.2.0.0/24 10.1.0.0/24 none
  ks_charon_start "$(ks_ns gwa)" "$a"; ks_charon_start "$(ks_ns gwb)" "$b"
  ks_swanctl "$a" --load-all --file "$a/swanctl/swanctl.conf" >/dev/null
  ks_swanctl "$b" --load-all --file "$b/swanctl/swanctl.conf" >/dev/null
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  cpu_before=$(( $(cpu_ticks "$(cat "$a/charon.pid")") + $(cpu_ticks "$(cat "$b/charon.pid")") ))
  result=$(timeout 900 python3 bench/ike/vici-setup-rate.py "$a/charon.vici" "$total" "$in_flight")
  cpu_after=$(( $(cpu_ticks "$(cat "$a/charon.pid")") + $(cpu_ticks "$(cat "$b/charon.pid")") ))
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  ikes_b=$(ks_swanctl "$b" --stats | grep -o 'IKE_SAs: [0-9]* total' | grep -o '[0-9]*' || echo '?')
  # charon CPU (both daemons) per established IKE+CHILD SA: less sensitive to other load than the rate.
  line=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); cpu=int(sys.argv[6])/int(sys.argv[7]); d.update(run=int(sys.argv[2]), load1_before=float(sys.argv[3]), load1_after=float(sys.argv[4]), responder_ike_sas=sys.argv[5], charon_cpu_s=round(cpu,2), cpu_ms_per_sa=round(1000*cpu/max(1,d["ok"]),3)); print(json.dumps(d))' \
    "$result" "$run" "$load_before" "$load_after" "$ikes_b" "$((cpu_after - cpu_before))" "$hz")
  echo "$line" | tee -a "$out/runs.jsonl"
done
echo "load after: $(uptime)" >> "$out/env.txt"
python3 - "$out/runs.jsonl" > "$out/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| run | SAs ok | failed | seconds | IKE+CHILD SAs/s | charon CPU ms per SA (both daemons) | responder IKE_SAs | load1 before/after |")
print("|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['run']} | {r['ok']} | {r['failed']} | {r['seconds']} | {r['rate']} | {r['cpu_ms_per_sa']} | {r['responder_ike_sas']} | {r['load1_before']} / {r['load1_after']} |")
rates = sorted(r['rate'] for r in rows)
cpus = sorted(r['cpu_ms_per_sa'] for r in rows)
print(f"\nmedian {rates[len(rates)//2]} IKE+CHILD SAs/s over {len(rows)} runs, {rows[0]['in_flight']} in flight;"
      f" median {cpus[len(cpus)//2]} ms charon CPU per SA (initiator + responder)")
PY
cat "$out/table.md"
echo "results: $out"
