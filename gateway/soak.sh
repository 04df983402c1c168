#!/usr/bin/env bash
# The soak (issue 16; docs/security.md, "Soak"): gateway A in a process of its own carrying N tunnels,
# N - S from a Keel peer on loopback and S from strongSwan's charon in a network namespace of its own
# (dev.keel.gateway.GatewaySoakTest; the strongSwan share needs root, ip netns, charon, swanctl and
# python3, else the Keel peer carries all N and the figures say why) for M minutes, rekeying
# every CHILD SA every 60 s and checking every peer's liveness every 30 s, each tunnel carrying one
# packet per second each way. Reads A every 10 s from outside (heap after a full GC through jcmd,
# /proc's fds and threads, its Prometheus metrics, blocked-thread warnings in its log) and fails if a
# tunnel went silent, an SA was lost, a rekey or DPD did not happen, a thread was blocked, or heap,
# fds or threads grew past their margins. Prints the figures; with --write, puts them into
# docs/security.md between the "soak" markers with the date and this command.
# Usage: gateway/soak.sh [--tunnels N] [--minutes M] [--strongswan S] [--write]
#   (defaults 1,000, 30 and a tenth of N: about 35 minutes; --strongswan 0 for the Keel peer alone;
#   a --strongswan above 0 fails the run where the strongSwan share cannot run, instead of leaving it out)
# Needs JDK 25 (.mvn/jdk25.sh finds it), Maven and python3. Leaves nothing running, whatever happens.
set -euo pipefail
. "$(dirname "$0")/bench-common.sh"

tunnels=1000
minutes=30
strongswan=
write=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tunnels) tunnels="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --strongswan) strongswan="$2"; shift 2 ;;
    --write) write=true; shift ;;
    *) echo "usage: $0 [--tunnels N] [--minutes M] [--strongswan S] [--write]" >&2; exit 2 ;;
  esac
done
for v in "$tunnels" "$minutes"; do
  case "$v" in
    ''|*[!0-9]*|0*) echo "$0: --tunnels and --minutes need a positive number, not '$v'" >&2; exit 2 ;;
  esac
done

share=()
if [ -n "$strongswan" ]; then
  case "$strongswan" in
    ''|*[!0-9]*|0?*) echo "$0: --strongswan needs a number (0 or more), not '$strongswan'" >&2; exit 2 ;;
  esac
  share=(-Dkeel.soak.strongswanTunnels="$strongswan")
  [ "$strongswan" -gt 0 ] && export KEEL_REQUIRE_SYSTEM_TESTS=1
fi
bench_figures_property=keel.soak.figures
bench_run "FAIL|Expecting|timed out|AssertionError|Tests run:.*Fail|has been blocked" \
    -Dtest='GatewaySoakTest' -Dkeel.soak.tunnels="$tunnels" -Dkeel.soak.seconds=$((minutes * 60)) \
    -Dkeel.soak.rekeySeconds=60 -Dkeel.soak.dpdSeconds=30 -Dkeel.testJvmTimeout=$((minutes * 60 + 1200)) \
    ${share[@]+"${share[@]}"}
if $write; then
  bench_write soak "gateway/soak.sh --tunnels $tunnels --minutes $minutes${strongswan:+ --strongswan $strongswan} --write" docs/security.md
fi
