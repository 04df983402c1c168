# Sourced (not run) by the gateway's benchmarks, gateway/ha-scale-bench.sh, gateway/ha-failover-bench.sh
# and gateway/soak.sh, after `set -euo pipefail`: moves to the repository root, picks JDK 25
# (.mvn/jdk25.sh: whatever java is on PATH, 17 say), and gives them one way to run a gateway test that
# writes figures and one way to put those figures into a doc (docs/ha.md unless told). Leaves nothing
# behind: its temporary files go on exit.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .mvn/jdk25.sh

bench_figures=$(mktemp)
bench_log=$(mktemp)
trap 'rm -f "$bench_figures" "$bench_figures.section" "$bench_log"' EXIT

# bench_run GREP_PATTERN MAVEN_ARGS...: runs the gateway's tests with MAVEN_ARGS (-Dtest=... and the
# test's properties), the figures going to a file (the test's property $bench_figures_property names
# it; keel.ha.figures unless set); prints them. When the run fails, shows the log's
# lines matching GREP_PATTERN and any figures written so far, and exits 1; also when it wrote none.
bench_run() {
  local pattern=$1
  shift
  if ! mvn -B -Dstyle.color=never -pl gateway -am test -Dsurefire.failIfNoSpecifiedTests=false \
      -D"${bench_figures_property:-keel.ha.figures}=$bench_figures" "$@" >"$bench_log" 2>&1; then
    grep -E "$pattern" "$bench_log" | head -40 >&2 || true
    echo "$0: the run failed; the whole log: rerun ${KEEL_REQUIRE_SYSTEM_TESTS:+KEEL_REQUIRE_SYSTEM_TESTS=1 }mvn -pl gateway -am test -Dsurefire.failIfNoSpecifiedTests=false $*" >&2
    [ -s "$bench_figures" ] && cat "$bench_figures"
    exit 1
  fi
  if [ ! -s "$bench_figures" ]; then
    echo "$0: the run printed no figures (was the test skipped?)" >&2
    exit 1
  fi
  cat "$bench_figures"
}

# bench_write MARKER COMMAND [DOC]: puts the figures into DOC (docs/ha.md) between the "MARKER: start"
# and "MARKER: end" comments, headed with the date, the machine's cores and load, and COMMAND.
bench_write() {
  {
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end:"
    echo "\`$2\`."
    echo
    cat "$bench_figures"
  } >"$bench_figures.section"
  local doc=${3:-docs/ha.md}
  python3 - "$bench_figures.section" "$doc" "$1" <<'PY'
import sys
section, doc, marker = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
text = open(doc).read()
start, end = "<!-- %s: start -->\n" % marker, "<!-- %s: end -->" % marker
i, j = text.index(start) + len(start), text.index(end)
open(doc, "w").write(text[:i] + section + text[j:])
PY
  echo "$doc updated"
}
