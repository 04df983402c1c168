#!/usr/bin/env bash
# Builds every Keel image from Debian packages and this build's jars, pulling nothing from a
# registry (docs/docker.md):
#   keel-base            debootstrap --variant=minbase bookworm + docker/base/packages.txt, imported
#   keel-runtime         keel-base + a jlink'd JDK 25 + keel-gateway.jar (keelctl too) + the container tools
#   keel-gateway, keel-policy-service, keel-sad-service, keel-ike-service, keel-esp-worker
#                        keel-runtime with an entrypoint, a user, a healthcheck
#   keel-strongswan      keel-base + charon (kernel-libipsec) + swanctl, for tests and demos
#   keel-bird            keel-base + BIRD 2, the routers and the nodes' BGP of the HA pair
# Incremental: the base is rebuilt only when packages.txt, the debootstrap line or
# base/cleanup.sh changes (its tag and label dev.keel.base.hash are their hash), the JDK runtime
# only when the JDK or its module list does, and docker's build cache skips every layer whose
# files did not change: with nothing changed the whole run takes seconds and changes no image.
#
# Usage: docker/build.sh [--maven]
#   --maven   first build the jars (mvn package of gateway and docker, tests skipped); without it
#             they are built only when missing. After changing Keel's code, pass it (or run mvn).
# Needs: root (debootstrap, only when the base is built), debootstrap, a Docker engine, JDK 25.
# Exit status 3: one of these is missing (the container tests then skip, or fail in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. .mvn/jdk25.sh

maven=false
for a in "$@"; do
  case "$a" in
    --maven) maven=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done

# The classic builder: Debian's docker.io has no buildx, and a newer client would want it.
export DOCKER_BUILDKIT=0
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
  echo "build.sh: no Docker engine answers ('docker version' failed); start dockerd first" >&2; exit 3; }

start=$(date +%s)
log() { echo "build.sh [$(( $(date +%s) - start ))s] $*"; }

# --- jars -------------------------------------------------------------------------------------
jar=gateway/target/keel-gateway.jar
tools=docker/target/classes/dev/keel/docker
if $maven || [ ! -f "$jar" ] || [ ! -d "$tools" ]; then
  log "building the jars (mvn package -pl docker -am, tests skipped)"
  mvn -q -B -o -pl docker -am package -DskipTests
fi

# --- keel-base: a debootstrap root, imported --------------------------------------------------
suite=bookworm
mirror=${KEEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=$(grep -v '^\s*#' docker/base/packages.txt | grep -v '^\s*$' | sort | paste -sd, -)
base_hash=$( { echo "debootstrap --variant=minbase $suite $packages"; cat docker/base/cleanup.sh; } \
  | sha256sum | cut -c1-12)
if docker image inspect "keel-base:$base_hash" >/dev/null 2>&1; then
  log "keel-base:$base_hash is current (packages: $packages)"
else
  [ "$(id -u)" = 0 ] || { echo "build.sh: building keel-base runs debootstrap, which needs root" >&2; exit 3; }
  command -v debootstrap >/dev/null || { echo "build.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 3; }
  rootfs=$(mktemp -d /var/tmp/keel-base.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap --variant=minbase $suite (+ $packages) from $mirror"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log" >&2; echo "build.sh: debootstrap failed (whole log: $rootfs.log)" >&2; exit 1; }
  rm -f "$rootfs.log"
  bash docker/base/cleanup.sh "$rootfs"
  log "importing keel-base:$base_hash ($(du -sh "$rootfs" | cut -f1))"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' --change "LABEL dev.keel.base.hash=$base_hash" - "keel-base:$base_hash" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi
docker tag "keel-base:$base_hash" keel-base:latest
# Bases of older package lists (images built on them keep their layers until pruned).
for old in $(docker image ls keel-base --format '{{.Tag}}' | grep -vxE "latest|$base_hash"); do
  docker rmi "keel-base:$old" >/dev/null 2>&1 || true
done

# --- keel-runtime: jlink'd JDK + the jars -------------------------------------------------------
# The modules jdeps finds in keel-gateway.jar (jdeps --ignore-missing-deps --multi-release 25
# --print-module-deps gateway/target/keel-gateway.jar), plus jdk.naming.dns and jdk.crypto.ec
# (name service and EC providers some libraries look up by name) and jdk.zipfs.
modules=java.base,java.compiler,java.desktop,java.naming,java.net.http,java.scripting,java.sql,jdk.jfr,jdk.management,jdk.net,jdk.unsupported,jdk.naming.dns,jdk.crypto.ec,jdk.zipfs
ctx=docker/target/context/runtime
jre_stamp="$("$JAVA_HOME/bin/java" -version 2>&1 | head -2 | paste -sd' ') $modules"
if [ ! -f "$ctx/jre.stamp" ] || [ "$(cat "$ctx/jre.stamp")" != "$jre_stamp" ]; then
  log "jlink: $modules"
  rm -rf "$ctx/jre"
  mkdir -p "$ctx"
  jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-6 \
    --generate-cds-archive --output "$ctx/jre"
  echo "$jre_stamp" >"$ctx/jre.stamp"
fi
mkdir -p "$ctx/lib" "$ctx/bin"
# cp only what changed, so that the unchanged keep their build-cache key.
sync_file() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
sync_file "$jar" "$ctx/lib/keel-gateway.jar"
rm -rf "$ctx/tools.new" && mkdir -p "$ctx/tools.new/dev/keel" && cp -r docker/target/classes/dev/keel/docker "$ctx/tools.new/dev/keel/"
if ! diff -r "$ctx/tools.new" "$ctx/tools" >/dev/null 2>&1; then rm -rf "$ctx/tools"; mv "$ctx/tools.new" "$ctx/tools"; else rm -rf "$ctx/tools.new"; fi
for f in docker/runtime/bin/*; do sync_file "$f" "$ctx/bin/$(basename "$f")"; done
for f in "$ctx"/bin/*; do [ -e "docker/runtime/bin/$(basename "$f")" ] || rm -f "$f"; done  # tools removed since
chmod 0755 "$ctx"/bin/*
sync_file docker/runtime/Dockerfile "$ctx/Dockerfile"
flags=$KEEL_JVM_FLAGS

build() { # build IMAGE CONTEXT [docker build options...]
  local image=$1 context=$2; shift 2
  log "$image"
  local out
  if ! out=$(docker build --quiet --label "dev.keel.image=$image" -t "$image:latest" "$@" "$context" 2>&1); then
    echo "$out" >&2; echo "build.sh: building $image failed" >&2; exit 1
  fi
}
build keel-runtime "$ctx" --build-arg "KEEL_JVM_FLAGS=$flags"
for image in gateway policy-service sad-service ike-service esp-worker; do
  build "keel-$image" "docker/images/$image"
done
# apt-get inside the build reaches the Debian mirror as the host does (host network).
build keel-strongswan docker/images/strongswan --network host
build keel-bird docker/images/bird --network host

# Layers of replaced builds, ours only.
docker image prune -f --filter "label=dev.keel.image" >/dev/null
log "done in $(( $(date +%s) - start )) s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^keel-' | sort
