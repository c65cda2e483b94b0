#!/usr/bin/env bash
# Make Debian's Chromium and its ChromeDriver present for the browser tests
# (tests/integration/test_report_browser.py). Idempotent: when both binaries are
# already installed and start, it only prints their versions (well under a second).
#
# Debian builds chromium and chromium-driver from one source package, so the two
# always have the same version; no browser or driver is downloaded from anywhere else
# (test tools' own browser downloads cannot work on this project's machines).
#
#   tests/tools/ensure_chromium.sh            # install if missing, print versions
#   CHROMIUM=/path/to/chromium CHROMEDRIVER=/path/to/chromedriver tests/tools/ensure_chromium.sh
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
PACKAGES=(chromium chromium-driver fonts-liberation fonts-dejavu-core)

works() {
    [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ] \
        && "$CHROMIUM" --version >/dev/null 2>&1 \
        && "$CHROMEDRIVER" --version >/dev/null 2>&1
}

if ! works; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure_chromium: $CHROMIUM or $CHROMEDRIVER is missing and this is not a Debian-like" \
             "system (no apt-get); install Chromium and a ChromeDriver of the same version and set" \
             "CHROMIUM / CHROMEDRIVER" >&2
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "ensure_chromium: need root (or sudo) to apt-get install ${PACKAGES[*]}" >&2; exit 1; }
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    echo "ensure_chromium: installing ${PACKAGES[*]}" >&2
    # A fresh machine has no (or an old) package list: update, then install.
    "${SUDO[@]}" "${APT[@]}" update -qq
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
    works || { echo "ensure_chromium: installed ${PACKAGES[*]} but $CHROMIUM / $CHROMEDRIVER still do not start" >&2; exit 1; }
fi

"$CHROMIUM" --version 2>/dev/null  # the Debian launcher script prints shell noise on stderr
"$CHROMEDRIVER" --version | head -n 1
