#!/usr/bin/env bash
# The no-privileges demo: two Keel gateways on loopback (127.0.0.1 and 127.0.0.2) with the UDP
# virtual wire as their plaintext side. Gateway A initiates IKEv2 to B at start-up
# (docs/examples/demo-a.yaml, demo-b.yaml); then keel-wire-probe plays the hosts behind them and
# sends packets through the tunnel. Needs JDK 25 (.mvn/jdk25.sh finds it) and Maven; builds what is
# missing.
# Leaves both gateways running until Ctrl-C unless --once is given.
set -euo pipefail
cd "$(dirname "$0")/.."
once=false; [ "${1:-}" = "--once" ] && once=true

. .mvn/jdk25.sh
jar=gateway/target/keel-gateway.jar
# As docs/gateway.md starts the jar; the flag keeps Hazelcast's sun.misc.Unsafe warnings quiet (a
# manifest cannot carry it).
gateway=(java --sun-misc-unsafe-memory-access=allow -jar "$jar")
if [ ! -f "$jar" ]; then
  echo "demo: building Keel (first run only) ..."
  mvn -q -B -DskipTests package -pl gateway -am
fi
export KEEL_DEMO_PSK="${KEEL_DEMO_PSK:-demo-only-secret-$(date +%s)}"
logs=$(mktemp -d /tmp/keel-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"${gateway[@]}" --config docs/examples/demo-b.yaml >"$logs/gateway-b.log" 2>&1 & pids+=($!)
"${gateway[@]}" --config docs/examples/demo-a.yaml >"$logs/gateway-a.log" 2>&1 & pids+=($!)
echo "demo: gateways starting; logs in $logs"

for _ in $(seq 1 300); do
  if grep -q "usable in the data plane" "$logs/gateway-a.log" 2>/dev/null && grep -q "usable in the data plane" "$logs/gateway-b.log" 2>/dev/null; then
    break
  fi
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "demo: a gateway exited:"; cat "$logs"/*.log; exit 1; }; done
  sleep 0.1
done
grep -h "established" "$logs/gateway-a.log" "$logs/gateway-b.log" | sed 's/^/  /'

java -cp "$jar" dev.keel.gateway.VirtualWireProbe --count 5

if ! $once; then
  echo "demo: tunnel up; gateways keep running (logs in $logs). Ctrl-C stops both (they delete their SAs)."
  wait
fi
