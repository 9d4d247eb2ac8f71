#!/usr/bin/env bash
# Installs what the DrWorkflows tests need, only when it is missing (a fast no-op when everything is there):
#   - Debian packages (one `apt-get update`, then `apt-get install --no-install-recommends`);
#   - the npm stand-ins pinned in tests/standins/package-lock.json (`npm ci` into tests/standins/node_modules).
# Usage: tests/infra/install-deps.sh LOGDIR
# Exit status: 0 when everything is present, 1 when something could not be installed (details printed).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOGDIR=${1:?usage: install-deps.sh LOGDIR}
mkdir -p "$LOGDIR"

# Keep in step with docs/testing.md.
APT_PACKAGES=(
  postgresql-15 redis-server docker.io zstd age gnupg debootstrap busybox-static iptables iproute2 chromium docker-compose openssh-server prometheus
)

status=0

installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "==> cannot install ${missing[*]}: not root (run as root or install them with apt-get)"
    status=1
  else
    echo "==> installing Debian packages: ${missing[*]}"
    # Package scripts must not start system-wide services (there is no init system; the tests start their own).
    added_policy=false
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      added_policy=true
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q > "$LOGDIR/apt-update.log" 2>&1; then
      echo "==> apt-get update failed (last lines of $LOGDIR/apt-update.log):"
      tail -n 15 "$LOGDIR/apt-update.log" | sed 's/^/    /'
    fi
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" > "$LOGDIR/apt-install.log" 2>&1; then
      echo "==> apt-get install failed (last lines of $LOGDIR/apt-install.log):"
      tail -n 20 "$LOGDIR/apt-install.log" | sed 's/^/    /'
      status=1
    fi
    if $added_policy; then rm -f /usr/sbin/policy-rc.d; fi
    still=()
    for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
    if ((${#still[@]})); then
      echo "==> still missing after install: ${still[*]}"
      status=1
    fi
  fi
fi

# npm stand-ins: reinstall only when the lock file changed since the last `npm ci`.
STANDINS=$REPO/tests/standins
stamp=$STANDINS/node_modules/.drw-lock.sha256
want=$(sha256sum "$STANDINS/package-lock.json" | cut -d' ' -f1)
if [[ ! -x $STANDINS/node_modules/.bin/s3rver || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  if ! command -v npm > /dev/null; then
    echo "==> cannot install the npm stand-ins: npm is not on PATH"
    status=1
  else
    echo "==> installing npm stand-ins (npm ci in tests/standins)"
    if (cd "$STANDINS" && npm ci --no-audit --no-fund --ignore-scripts) > "$LOGDIR/npm-ci.log" 2>&1; then
      echo "$want" > "$stamp"
    else
      echo "==> npm ci failed (last lines of $LOGDIR/npm-ci.log):"
      tail -n 20 "$LOGDIR/npm-ci.log" | sed 's/^/    /'
      status=1
    fi
  fi
fi

exit "$status"
