#!/usr/bin/env bash
# The HA pair's failover figures (issue 20 targets; docs/ha.md, "Measured"): strongSwan peer ->
# BIRD router -> anycast on node A | node B (Keel, TUN) -> LAN host, all in network namespaces
# (dev.keel.gateway.ha.AnycastFailoverTest). Traffic both ways (ping at 100/s each way, a 1,000/s
# sequence-numbered UDP probe, an iperf3 TCP stream) while the node carrying it is killed with
# kill -9, restarted and rejoined, alternating, KILLS times (default 10; the last kill takes the
# whole node down: Keel and its BIRD). Prints the table and, with --write, puts it into docs/ha.md
# between the "ha-failover-bench" markers with the date and this command. A measurement, not the
# test: a kill over the 1 s budget is reported in the table (the run stops only past 5 s).
# Usage: gateway/ha-failover-bench.sh [--kills N] [--write]      (root; about 30 s per kill)
# Needs root, ip netns, BIRD 2, strongSwan (charon, swanctl), tshark, iperf3, python3, JDK 25
# (.mvn/jdk25.sh finds it) and Maven. Leaves nothing running, whatever happens.
set -euo pipefail
. "$(dirname "$0")/bench-common.sh"

kills=10
write=false
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills="$2"; shift 2 ;;
    --write) write=true; shift ;;
    *) echo "usage: $0 [--kills N] [--write]" >&2; exit 2 ;;
  esac
done

KEEL_REQUIRE_SYSTEM_TESTS=1 bench_run "^kill [0-9]+:|FAIL|Expecting|to be less than" \
    -Dtest='AnycastFailoverTest#killNineOfTheCarryingNodeMovesTrafficAndChildSasToTheOther' \
    -Dkeel.ha.kills="$kills" -Dkeel.ha.wholeNodeKills="$kills" -Dkeel.ha.stops=0 -Dkeel.ha.budgetMillis=5000
if $write; then
  bench_write ha-failover-bench "gateway/ha-failover-bench.sh --kills $kills --write"
fi
