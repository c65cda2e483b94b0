#!/usr/bin/env bash
# Build the peers the tests compare with from their pinned Go modules (tests/peers/<peer>/go.mod):
# today kubectl-who-can (github.com/aquasecurity/kubectl-who-can v0.4.0), for the who-can
# differential test and benchmark.
#
# Binaries go to $PEERS_BIN (default .tools-peers/bin, ignored by git). A stamp file holds a hash
# of the pins; when it matches, nothing is rebuilt, so a warm `make test` never runs the Go
# toolchain. Cold: about 70 s on 2 cores with a warm module cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PEERS_BIN=${PEERS_BIN:-$root/.tools-peers/bin}
stamp="$PEERS_BIN/.peers-pins"

if ! command -v go >/dev/null 2>&1; then
  echo "tests/peers/build.sh: the Go toolchain is missing (no 'go' on PATH)." >&2
  echo "  The who-can differential test compares with kubectl-who-can, built from its Go module." >&2
  echo "  Install Go >= 1.26 (https://go.dev/doc/install), then run 'make test' again." >&2
  exit 1
fi

pins=$(cat "$0" "$here"/kubectl-who-can/go.mod "$here"/kubectl-who-can/go.sum "$here"/kubectl-who-can/tools.go \
       | sha256sum | cut -d' ' -f1)
if [ -x "$PEERS_BIN/kubectl-who-can" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pins" ]; then
  exit 0
fi

mkdir -p "$PEERS_BIN"
start=$(date +%s)
echo "tests/peers/build.sh: building kubectl-who-can into $PEERS_BIN"
(cd "$here/kubectl-who-can" && go build -trimpath -ldflags "-s -w" -o "$PEERS_BIN/kubectl-who-can" \
   github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can)
echo "$pins" > "$stamp"
echo "tests/peers/build.sh: done in $(( $(date +%s) - start ))s"
