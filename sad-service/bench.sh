#!/usr/bin/env bash
# sad-service benchmarks on a two-member Hazelcast cluster on loopback (both members in one JVM):
# lease round trip over gRPC; CHILD SA installs/s over gRPC (unary, and the batched InstallChildSas
# RPC an IKE service uses) and through SaDatabase.installChildSas, each with CPU us per install
# (whole process: both members, client, server) and its split by thread group; memory per SA at
# 100,000 SAs; takeover time of the 50,000 SAs a terminated member owned.
# Before the measured install phases, a warm-up installs through both paths in windows until the JIT
# compiler threads use less than --jit-share of the CPU (steady state); the line starting "TARGET"
# has the issue 3 figure for both paths.
# Usage: sad-service/bench.sh [--lease-calls N] [--unary-installs N] [--installs N] [--in-flight N]
#        [--batch N] [--batches-in-flight N] [--memory-sas N] [--warmup-installs N]
#        [--warmup-windows N] [--jit-share F] [--maintenance-ms N] [--no-takeover]
#        sad-service/bench.sh --only takeover [--takeover-sas N]   (N SAs per member, default 50,000;
#        installs them, terminates member 2 and prints detection, re-own time and CPU; about 1 minute)
#        sad-service/bench.sh --only ike [--ike-sas N] [--in-flight N]   (IKE SA upserts as IKE failover sends
#        them: the first with keys, then after each exchange; writes/s, CPU per write, latency; N default 10,000)
# Defaults take about 4-5 minutes on the shared 2-vCPU build machine. A short run of the install
# target alone (about 1-2 minutes):
#   sad-service/bench.sh --lease-calls 0 --unary-installs 0 --installs 20000 --memory-sas 20000 --no-takeover
# SAD_BENCH_JAVA_OPTS adds JVM options (e.g. -XX:StartFlightRecording=filename=/tmp/sad.jfr).
# Needs JDK 25 (.mvn/jdk25.sh finds it) and Maven; builds the modules it needs (no install).
set -euo pipefail
cd "$(dirname "$0")/.."
. .mvn/jdk25.sh

cp_file=sad-service/target/bench.classpath
build_log=$(mktemp)
if ! mvn -q -B -Dstyle.color=never -pl proto,core,sad-service test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test >"$build_log" 2>&1; then
  cat "$build_log"; rm -f "$build_log"; exit 1
fi
rm -f "$build_log"
# The reactor modules resolve to their target/classes; the classpath file lists jars per module.
cp="sad-service/target/test-classes:sad-service/target/classes:proto/target/classes:core/target/classes:$(cat "$cp_file")"

# shellcheck disable=SC2086
exec java $KEEL_JVM_FLAGS ${SAD_BENCH_JAVA_OPTS:-} -Xms2g -Xmx2g -XX:+UseG1GC -Dhazelcast.phone.home.enabled=false \
    -Djava.util.logging.config.file=sad-service/src/test/resources/logging.properties \
    -cp "$cp" dev.keel.sad.bench.SadBenchmark "$@"
