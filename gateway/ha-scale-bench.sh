#!/usr/bin/env bash
# The HA pair at scale (issue 20 target: "1,000 established tunnels on the pair: all re-owned and
# forwarding within 2 s of a kill"; docs/ha.md, "Measured: 1,000 tunnels"). On loopback, no root
# (dev.keel.gateway.ManyTunnelsFailoverTest): gateway A in a process of its own, gateway B and a
# Keel peer with N connections (N IKE SAs, one CHILD SA each) in the test JVM, a UDP relay standing
# for the anycast route. Every tunnel carries a packet every 200 ms through A; A is killed with
# kill -9 and the relay moves to B; prints when B owns every record, has every SA in its data plane,
# runs every IKE SA, and has carried a packet of every tunnel. With --write, puts the table into
# docs/ha.md between the "ha-scale-bench" markers with the date and this command.
# Usage: gateway/ha-scale-bench.sh [--tunnels N] [--write]     (N = 1000: about 2 minutes)
# Needs JDK 25 (.mvn/jdk25.sh finds it), Maven and python3. Leaves nothing running, whatever happens.
set -euo pipefail
. "$(dirname "$0")/bench-common.sh"

tunnels=1000
write=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tunnels) tunnels="$2"; shift 2 ;;
    --write) write=true; shift ;;
    *) echo "usage: $0 [--tunnels N] [--write]" >&2; exit 2 ;;
  esac
done
case "$tunnels" in
  ''|*[!0-9]*|0*) echo "$0: --tunnels needs a positive number, not '$tunnels'" >&2; exit 2 ;;
esac

bench_run "FAIL|Expecting|timed out|AssertionError|Tests run:.*Fail" \
    -Dtest='ManyTunnelsFailoverTest' -Dkeel.ha.tunnels="$tunnels"
if $write; then
  bench_write ha-scale-bench "gateway/ha-scale-bench.sh --tunnels $tunnels --write"
fi
