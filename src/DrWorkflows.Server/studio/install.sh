#!/usr/bin/env bash
# Installs the prebuilt Elsa Studio that DrWorkflows serves under /studio: the npm package
# @elsa-workflows/elsa-studio-wasm, pinned in package.json and package-lock.json beside this script, into
# node_modules/ here (git-ignored, never committed). A fast no-op when the installed copy matches the lock file.
# Usage: src/DrWorkflows.Server/studio/install.sh        (needs node and npm; run by tests/run.sh)
# Prints the bundle directory on success (the last line of output).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUNDLE=$HERE/node_modules/@elsa-workflows/elsa-studio-wasm
STAMP=$HERE/node_modules/.drw-lock.sha256

want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [[ -f $BUNDLE/_framework/blazor.webassembly.js && -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
  echo "Elsa Studio bundle already installed"
  echo "$BUNDLE"
  exit 0
fi

if ! command -v npm > /dev/null; then
  echo "npm is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm), then run $0 again" >&2
  exit 1
fi

echo "installing the Elsa Studio bundle (npm ci in $HERE)"
# --ignore-scripts: the package is static files; nothing of it runs at install time.
(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts)
if [[ ! -f $BUNDLE/_framework/blazor.webassembly.js ]]; then
  echo "npm ci finished but $BUNDLE/_framework/blazor.webassembly.js is missing" >&2
  exit 1
fi
echo "$want" > "$STAMP"
echo "$BUNDLE"
