#!/usr/bin/env bash
# Make a Java 17+ runtime present for ansible-rulebook (its rules engine, Drools, runs in a JVM
# inside the Python process): tests/integration/test_eda.py and `make bench BENCH_ARGS=--only=eda`
# run the rulebook for real. Idempotent: when ansible-rulebook already finds a Java 17 or newer,
# it only prints what it found (about a second).
#
# It asks ansible-rulebook itself (`ansible-rulebook --version`), which looks at JAVA_HOME and then
# at the `java` on PATH, so the check is exactly what the tests need. When it finds none, this
# installs Debian's openjdk-17-jre-headless, or says what is missing where it cannot.
#
#   tests/tools/ensure_java.sh [path/to/ansible-rulebook]
set -euo pipefail

RULEBOOK="${1:-.venv/bin/ansible-rulebook}"
PACKAGES=(openjdk-17-jre-headless)

[ -x "$RULEBOOK" ] || { echo "ensure_java: $RULEBOOK is missing; run make venv first" >&2; exit 1; }

VERSION_OUTPUT=""
java_version() {
    # ansible-rulebook prints "Java home = ..." and "Java version = 17.0.15" when it finds a JVM.
    printf '%s\n' "$VERSION_OUTPUT" | sed -n 's/^ *Java version = \([0-9][0-9]*\).*/\1/p'
}

works() {
    local v
    VERSION_OUTPUT="$("$RULEBOOK" --version 2>&1 || true)"
    v="$(java_version)"
    [ -n "$v" ] && [ "$v" -ge 17 ]
}

if ! works; then
    found="$(java_version)"
    why="ansible-rulebook finds no Java runtime (JAVA_HOME unset and no java on PATH)"
    [ -n "$found" ] && why="ansible-rulebook finds Java $found; it needs 17 or newer"
    if [ -z "$found" ] && [ -n "${JAVA_HOME:-}" ]; then
        echo "ensure_java: ansible-rulebook finds no Java runtime in JAVA_HOME=$JAVA_HOME: point it at a" \
             "Java 17+ runtime, or unset it to use the java on PATH" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure_java: $why, and this is not a Debian-like system (no apt-get): install a Java 17+" \
             "runtime (for example OpenJDK 17) and put it on PATH or set JAVA_HOME" >&2
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "ensure_java: $why; need root (or sudo) to apt-get install ${PACKAGES[*]}" >&2; exit 1; }
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    echo "ensure_java: $why; installing ${PACKAGES[*]}" >&2
    "${SUDO[@]}" "${APT[@]}" update -qq
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
    works || { echo "ensure_java: installed ${PACKAGES[*]} but ansible-rulebook still finds no Java 17+;" \
                    "set JAVA_HOME to the JDK/JRE directory" >&2; exit 1; }
fi

printf '%s\n' "$VERSION_OUTPUT" | grep -E "ansible-rulebook|Java (home|version)"
