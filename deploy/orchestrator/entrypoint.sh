#!/bin/bash
# Entry point of the orchestrator image (docs/deployment.md):
#  1. checks what the container was given: a writable state volume (DRW_DATA_DIR) and, when Docker__Endpoint is a
#     unix socket, that socket mounted and usable by this user; each problem is one line naming what to fix;
#  2. runs the server (listening on DRW_URLS) and passes SIGTERM/SIGINT on to it;
#  3. when the server could not start because a setting is missing or invalid (exit code 78, the message names the
#     setting) or a check of step 1 failed, the container stays up WITHOUT the server: its healthcheck fails, so
#     `docker-compose ps` shows it unhealthy, and it does not restart in a loop. Any other exit (a crash, the state
#     store unreachable) ends the container with the server's exit code, and the restart policy brings it back.
set -u
readonly CONFIG_ERROR=78

stay_stopped() {
  echo "DrWorkflows is not running: fix the problem above, then recreate the container (docker-compose up -d). It stays up without the server (unhealthy) instead of restarting." >&2
  trap 'exit 0' TERM INT
  sleep infinity &
  wait $!
  exit 0
}

fail() {
  echo "DrWorkflows cannot start: $*" >&2
  stay_stopped
}

data=${DRW_DATA_DIR:-/var/lib/drworkflows}
if [[ ! -d $data ]]; then
  fail "the data directory DRW_DATA_DIR=$data does not exist (mount the state volume there)."
fi
probe="$data/.drw-write-check.$$"
if ! (: > "$probe") 2> /dev/null; then
  if grep -qE "^[^ ]+ $data [^ ]+ ro[, ]" /proc/mounts 2> /dev/null; then
    fail "the state volume at DRW_DATA_DIR=$data is mounted read-only: mount it read-write (remove ':ro')."
  fi
  fail "the data directory DRW_DATA_DIR=$data is not writable by uid $(id -u) (it belongs to uid $(stat -c %u "$data")): chown -R $(id -u):$(id -g) the volume or bind-mounted directory."
fi
rm -f "$probe"

endpoint=${Docker__Endpoint:-unix:///var/run/docker.sock}
if [[ $endpoint == unix://* ]]; then
  socket=${endpoint#unix://}
  if [[ ! -S $socket ]]; then
    fail "the Docker socket $socket is not mounted: add '<engine socket>:$socket' to the volumes (DOCKER_SOCKET in .env), or set Docker__Endpoint to tcp://… with TLS."
  fi
  if [[ ! -r $socket || ! -w $socket ]]; then
    fail "uid $(id -u) (groups $(id -G)) cannot use the Docker socket $socket (group $(stat -c %g "$socket"), mode $(stat -c %a "$socket")): set DOCKER_GID=$(stat -c %g "$socket") in .env (the compose file adds that group)."
  fi
fi

/opt/drworkflows/DrWorkflows.Server --urls "${DRW_URLS:-http://127.0.0.1:5080}" "$@" &
server=$!
trap 'kill -TERM "$server" 2> /dev/null' TERM INT
status=0
wait "$server" || status=$?
while kill -0 "$server" 2> /dev/null; do # wait returned early for the trapped signal
  status=0
  wait "$server" || status=$?
done
trap - TERM INT
if ((status == CONFIG_ERROR)); then
  stay_stopped
fi
exit "$status"
