#!/usr/bin/env bash
# iperf3 TCP through Keel's services apart with one esp-worker process and with two (issue 12
# item 7), alternating in each round. The esp-workers share the outer address through
# SO_REUSEPORT, where the kernel hashes each peer's UDP 5-tuple to one worker, so two workers
# can only share the load of two or more peers: two peer sites, each a one-process Keel gateway
# (GatewayMain: ESP always in UDP 4500, TUN offloads on, initiating), one over each of gw-a's
# links (bench/ike/lib.sh, ks_topology_up and ks_site_c_up). host-a sends to host-b and host-c at
# once (one iperf3 TCP stream each, SECONDS s), so the workers encrypt the data and decrypt the ACKs.
#
#   sudo bench/ike/split-iperf3.sh [ROUNDS (3)] [SECONDS (10)]
#
# Per run: the sum of both receivers' rates, each peer's, which worker carried which peer (its
# TUN's byte counters), and each process's CPU in the measured seconds (user+sys), so also CPU
# per GB per worker: on this 2-core machine the peers' crypto and iperf3 share the cores with
# the workers, which caps what a second worker process can add.
# Results: bench/target/ike-results/split-iperf3-<UTC>/ (env.txt, runs.jsonl, table.md, logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/ike/lib.sh
. .mvn/jdk25.sh
source bench/ike/split-lib.sh
rounds=${1:-3}
secs=${2:-10}
if [ ! -f "$KS_GW_JAR" ]; then
  mvn -q -B -o -pl gateway -am package -DskipTests
fi
hz=$(getconf CLK_TCK)
out=$PWD/bench/target/ike-results/split-iperf3-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
work=$(mktemp -d /tmp/ks-splitiperf.XXXXXX)
cleanup() { ks_jvms_stop; ks_topology_down; rm -rf "$work"; }
trap cleanup EXIT
ks_sweep
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "uptime: $(uptime)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p)"
  echo "iperf3: $(iperf3 --version | head -1)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
  echo "command: $0 $rounds $secs"
} > "$out/env.txt"
cat "$out/env.txt"
export KEEL_SPLIT_PSK=keel-bench-split-psk
gwa=$(ks_ns gwa); hosta=$(ks_ns hosta)

peer_policy() { # NAME LOCAL_ADDRESS REMOTE_ADDRESS LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS START_ACTION
  cat <<YAML
  $1:
    local_addrs: $2
    remote_addrs: $3
    local:  {auth: psk, id: "$4", secret: local}
    remote: {auth: psk, id: "$5"}
    proposals: aes256gcm16-prfsha256-x25519
    children:
      net:
        mode: tunnel
        local_ts: [$6]
        remote_ts: [$7]
        esp_proposals: aes256gcm16
        start_action: $8
YAML
}

start_peer() { # SITE(b|c) ADDRESS LAN: a one-process gateway in gw-SITE, initiating to the split
  local site=$1 address=$2 lan=$3 dir=$4
  mkdir -p "$dir/admin"; chmod 700 "$dir/admin"
  printf '%s' "$KEEL_SPLIT_PSK" > "$dir/psk.txt"
  { cat <<YAML
gateway:
  address: $address
  loops: 2
  admin: {socket: $dir/admin/keel.sock}
  plaintext:
    tun: {name: keel0, mtu: 1400, offload: true}
secrets:
  local: {file: psk.txt}
connections:
YAML
    peer_policy split "$address" 192.0.2.1 "peer-$site.keel.test" split.keel.test "$lan" 10.1.0.0/24 start
  } > "$dir/gateway.yaml"
  ks_jvm "$(ks_ns "gw$site")" "$dir/gateway.log" 'keel-gateway: started' dev.keel.gateway.GatewayMain \
    --config "$dir/gateway.yaml"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
tun_bytes() { # NS TUN: rx + tx bytes, 0 when there is no such interface
  { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_bytes" "/sys/class/net/$2/statistics/tx_bytes" 2>/dev/null \
    || true; } | awk '{s += $1} END {print s + 0}'
}

one_run() { # WORKERS ROUND
  local workers=$1 round=$2 dir=$work/$1-$2 ok=1 t rate_b rate_c
  mkdir -p "$dir/split" "$dir/b" "$dir/c"
  ks_topology_up; ks_site_c_up
  printf '%s' "$KEEL_SPLIT_PSK" > "$dir/split/psk.txt"
  { printf 'secrets:\n  local: {file: psk.txt}\nconnections:\n'
    peer_policy peer-b 192.0.2.1 192.0.2.2 split.keel.test peer-b.keel.test 10.1.0.0/24 10.2.0.0/24 none
    peer_policy peer-c 192.0.2.1 198.51.100.2 split.keel.test peer-c.keel.test 10.1.0.0/24 10.3.0.0/24 none
  } > "$dir/split/policy.yaml"
  ks_split_start "$gwa" "$dir/split" 192.0.2.1 "$workers" || ok=0
  local peers_pids=""
  if [ $ok = 1 ]; then
    start_peer b 192.0.2.2 10.2.0.0/24 "$dir/b" && peers_pids=$KS_PID || ok=0
  fi
  if [ $ok = 1 ]; then
    start_peer c 198.51.100.2 10.3.0.0/24 "$dir/c" && peers_pids+=" $KS_PID" || ok=0
  fi
  # Both CHILD SAs at their owners before the first packet: the split answers IKE_AUTH before its
  # worker has the SA, and a LAN packet sent meanwhile takes the other worker's standby route,
  # which claims the SA; the peer's ESP then claims it back, and the owner's new replay floor
  # (last checkpoint + margin) drops the peer's packets for ever after (seen: "REPLAYED=56" and no
  # ping through in 60 tries). So wait until each remote selector has an owner's route (metric 100).
  for net in 10.2.0.0/24 10.3.0.0/24; do
    [ $ok = 1 ] || break
    t=0
    until ip -n "$gwa" route show "$net" metric 100 | grep -q dev; do
      t=$((t + 1)); [ $t -lt 600 ] || { echo "no owner's route to $net within 60 s" >&2; ok=0; break; }
      sleep 0.1
    done
  done
  # both tunnels up: a ping through each answered (60 tries: JVMs warming up on a busy machine)
  for h in 10.2.0.2 10.3.0.2; do
    [ $ok = 1 ] || break
    t=0
    until ip netns exec "$hosta" ping -n -c 1 -W 1 "$h" > /dev/null 2>&1; do
      t=$((t + 1)); [ $t -lt 60 ] || { echo "no ping through to $h within 60 tries" >&2; ok=0; break; }
      sleep 0.5
    done
  done
  if [ $ok = 1 ]; then
    for s in b c; do ip netns exec "$(ks_ns host$s)" iperf3 -s > "$dir/iperf3-server-$s.log" 2>&1 & done
    sleep 0.5
    two_streams() { # SECONDS TAG: both clients at once; their JSON to $dir/TAG-{b,c}.json
      ip netns exec "$hosta" timeout $(($1 + 20)) iperf3 -c 10.2.0.2 -t "$1" -J > "$dir/$2-b.json" 2>&1 &
      local pb=$!
      ip netns exec "$hosta" timeout $(($1 + 20)) iperf3 -c 10.3.0.2 -t "$1" -J > "$dir/$2-c.json" 2>&1 || true
      wait "$pb" || true
    }
    # JIT warm-up, not reported: three 3-s rounds of both streams
    for w in 1 2 3; do two_streams 3 "warmup$w"; done
    local load_before cpu_before=() bytes_before=() cpu_after=() bytes_after=() wpids=() p
    for n in sad-a sad-b; do [ -n "${KS_WORKER_PIDS[$n]:-}" ] && wpids+=("${KS_WORKER_PIDS[$n]}"); done
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    for p in "${wpids[@]}" $peers_pids; do cpu_before+=("$(cpu_ticks "$p")"); done
    for i in 0 1; do bytes_before+=("$(tun_bytes "$gwa" keel$i)"); done
    local all_before; all_before=$(awk '/^cpu / {print $2 + $3 + $4 + $6 + $7 + $8}' /proc/stat)
    two_streams "$secs" measured
    local all_after; all_after=$(awk '/^cpu / {print $2 + $3 + $4 + $6 + $7 + $8}' /proc/stat)
    for p in "${wpids[@]}" $peers_pids; do cpu_after+=("$(cpu_ticks "$p")"); done
    for i in 0 1; do bytes_after+=("$(tun_bytes "$gwa" keel$i)"); done
    python3 - "$dir" "$workers" "$round" "$load_before" "$(cut -d' ' -f1 /proc/loadavg)" "$(uptime)" "$hz" \
      "${#wpids[@]}" "${cpu_before[*]}" "${cpu_after[*]}" "${bytes_before[*]}" "${bytes_after[*]}" \
      "$((all_after - all_before))" "$secs" <<'PY' | tee -a "$out/runs.jsonl"
import json, sys
d, workers, rnd, l0, l1, up, hz, nw, c0, c1, b0, b1, busy, secs = sys.argv[1:]
hz, nw, secs = int(hz), int(nw), float(secs)
def rate(tag):
    try:
        return json.load(open(f"{d}/measured-{tag}.json"))["end"]["sum_received"]["bits_per_second"] / 1e6
    except Exception:
        return 0.0
c0, c1 = [int(x) for x in c0.split()], [int(x) for x in c1.split()]
cpu = [(b - a) / hz for a, b in zip(c0, c1)]
tun = [(int(b) - int(a)) for a, b in zip(b0.split(), b1.split())]
rb, rc = rate("b"), rate("c")
w = []
for i in range(nw):
    gb = tun[i] / 1e9
    w.append({"worker": "sad-" + "ab"[i], "tun_gbytes": round(gb, 3), "cpu_s": round(cpu[i], 2),
              "cpu_s_per_gbyte": round(cpu[i] / gb, 2) if gb > 0.01 else None})
print(json.dumps({"workers": int(workers), "round": int(rnd), "mbit_total": round(rb + rc, 1),
    "mbit_to_b": round(rb, 1), "mbit_to_c": round(rc, 1), "per_worker": w,
    "peers_cpu_s": [round(x, 2) for x in cpu[nw:]], "machine_busy_cores": round(int(busy) / hz / secs, 2),
    "load1_before": float(l0), "load1_after": float(l1), "uptime": up.strip()}))
PY
  else
    echo "{\"workers\": $workers, \"round\": $round, \"error\": \"setup failed (logs in $out/$workers-$round)\"}" \
      | tee -a "$out/runs.jsonl"
  fi
  ks_jvms_stop
  ks_topology_down
  mkdir -p "$out/$workers-$round"; cp "$dir"/split/*.log "$dir"/*.json "$out/$workers-$round/" 2>/dev/null || true
  for s in b c; do cp "$dir/$s/gateway.log" "$out/$workers-$round/peer-$s-gateway.log" 2>/dev/null || true; done
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ $((round % 2)) = 1 ]; then one_run 1 "$round"; one_run 2 "$round"; else one_run 2 "$round"; one_run 1 "$round"; fi
done
echo "load after: $(uptime)" >> "$out/env.txt"

python3 - "$out/runs.jsonl" > "$out/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| round | workers | Mbit/s total (to host-b + host-c) | per worker: GB through its TUN, CPU s, CPU s per GB | peers' CPU s | busy cores (whole machine) | load1 before/after |")
print("|---:|---:|---|---|---|---:|---|")
for r in rows:
    if "error" in r:
        print(f"| {r['round']} | {r['workers']} | {r['error']} |||||")
        continue
    w = "; ".join(f"{x['worker']} {x['tun_gbytes']} GB, {x['cpu_s']} s, {x['cpu_s_per_gbyte']}" for x in r["per_worker"])
    print(f"| {r['round']} | {r['workers']} | **{r['mbit_total']}** ({r['mbit_to_b']} + {r['mbit_to_c']}) | {w} |"
          f" {' / '.join(map(str, r['peers_cpu_s']))} | {r['machine_busy_cores']} | {r['load1_before']} / {r['load1_after']} |")
med = {}
for n in (1, 2):
    v = sorted(r["mbit_total"] for r in rows if r["workers"] == n and "error" not in r)
    med[n] = v[len(v) // 2] if v else 0
    print(f"\n{n} worker(s): median {med[n]} Mbit/s over {len(v)} runs ({', '.join(map(str, v))})")
if med[1]:
    x = med[2] / med[1]
    print(f"\ntwo workers / one: {x:.2f}x (target >= 1.6x: {'met' if x >= 1.6 else 'NOT met'})")
PY
cat "$out/table.md"
echo "results: $out"
