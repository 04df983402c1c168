# Sourced (not run) by every script that runs java or mvn, from the repository root:
#     . .mvn/jdk25.sh
# Keel needs JDK 25, and this directory's jvm.config passes Maven a flag older JVMs refuse, so
# whatever `java` is on PATH will not do. Exports JAVA_HOME and PATH for a JDK 25: JAVA_HOME when it
# is one, else the first under /usr/lib/jvm; with none, says in one line what to install or set and
# exits. Also sets KEEL_JVM_FLAGS, the flags every Keel JVM runs with (the root pom's keel.jvm.flags,
# as the tests get them).

keel_is_jdk25() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  case "$("$1/bin/java" -version 2>&1)" in
    *'version "25'*) return 0 ;;
    *) return 1 ;;
  esac
}

keel_jdk=""
for keel_candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk* \
    /usr/lib/jvm/java-25-* /usr/lib/jvm/*-25*; do
  if [ -n "$keel_candidate" ] && keel_is_jdk25 "$keel_candidate"; then
    keel_jdk=$keel_candidate
    break
  fi
done
if [ -z "$keel_jdk" ]; then
  echo "$0: Keel needs JDK 25 and there is none in ${JAVA_HOME:+JAVA_HOME ($JAVA_HOME) or }/usr/lib/jvm: install one (e.g. Temurin 25) or set JAVA_HOME to it" >&2
  exit 1
fi
export JAVA_HOME=$keel_jdk
export PATH="$JAVA_HOME/bin:$PATH"

KEEL_JVM_FLAGS=$(sed -n 's:.*<keel.jvm.flags>\(.*\)</keel.jvm.flags>.*:\1:p' "$(dirname "${BASH_SOURCE[0]}")/../pom.xml")
if [ -z "$KEEL_JVM_FLAGS" ]; then
  echo "$0: keel.jvm.flags not found in pom.xml" >&2
  exit 1
fi
unset keel_jdk keel_candidate
