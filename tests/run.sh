#!/usr/bin/env bash
# The test command of DrWorkflows (docs/testing.md):
#   1. installs what the tests need, only when it is missing (tests/infra/install-deps.sh);
#   2. starts throwaway servers on 127.0.0.1 on free ports, in a temp dir: PostgreSQL 15, Redis, s3rver and a
#      private dockerd (with offline images from tests/infra/build-images.sh), and exports them as DRW_TEST_*;
#   3. runs every test project of DrWorkflows.sln (extra arguments go to `dotnet test`);
#   4. stops everything it started (also on Ctrl-C) and prints, as the last line:
#        tests: <passed> passed, <failed> failed, <skipped> skipped
# Exit status: non-zero when a test failed, the build failed, or no test ran. A service that cannot start is
# reported and its tests skip, except with CI=true, where it is an error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INFRA=$REPO/tests/infra
CACHE=${DRW_TEST_CACHE:-/var/cache/drworkflows}
PG_BIN=${DRW_TEST_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
BASE_IMAGES=(local/busybox:1 local/pg:15 local/drw-runtime:1)
STRICT=false
[[ ${CI:-} == true || ${CI:-} == 1 ]] && STRICT=true

say() { printf '==> %s\n' "$*"; }

# State for the EXIT trap: whatever is set here was started by this run and is stopped by it.
TMP=""
PG_DATA=""
REDIS_PIDFILE=""
S3_PID=""
S3_TLS_PID=""
S3_OFFSITE_PID=""
DOCKERD_PID=""
DOCKER_SOCK=""
DOCKER_EXEC=""
TEST_PID=""
TEST_RC=""
RESULTS=""
MARKER=""
STARTED=$SECONDS
REASON=""
PORTS=" "
INTERRUPTED=false

unavailable() { # NAME REASON
  if $STRICT; then
    say "ERROR: $1 could not be started: $2 (CI=true, so every service must start)"
    exit 1
  fi
  say "WARNING: $1 not started: $2; tests that need it will be skipped"
}

alive() { # PID: running (not a zombie)
  [[ -r /proc/$1/stat ]] || return 1
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

stop_pid() { # PID NAME SECONDS: SIGTERM, wait, then SIGKILL
  local pid=$1 name=$2 limit=${3:-15} i
  alive "$pid" || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$name (pid $pid) did not stop within ${limit}s; sending SIGKILL"
  kill -KILL "$pid" 2> /dev/null || true
}

free_port() { # a loopback TCP port nothing listens on, not handed out earlier in this run
  local port i
  for ((i = 0; i < 20; i++)); do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return 1
    if [[ $PORTS != *" $port "* ]]; then
      PORTS+="$port "
      echo "$port"
      return 0
    fi
  done
  return 1
}

wait_tcp() { # PORT PID SECONDS: until something accepts on 127.0.0.1:PORT (false if PID dies first)
  local port=$1 pid=$2 limit=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then return 0; fi
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}


dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }

# ---------------------------------------------------------------------------------------------------------------
# Services

as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local port dir=$TMP/pg
  if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/pg_ctl ]]; then
    REASON="no initdb/pg_ctl in $PG_BIN (apt-get install postgresql-15)"
    return 1
  fi
  if [[ $EUID -eq 0 ]] && ! id postgres > /dev/null 2>&1; then
    REASON="there is no 'postgres' user to run the server as (apt-get install postgresql-15)"
    return 1
  fi
  port=$(free_port) || { REASON="no free port"; return 1; }
  say "starting PostgreSQL on 127.0.0.1:$port"
  mkdir -p "$dir" || { REASON="cannot create $dir"; return 1; }
  if [[ $EUID -eq 0 ]]; then chown postgres: "$dir"; fi
  if ! as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    > "$dir/initdb.log" 2>&1; then
    REASON="initdb failed: $(tail -n 3 "$dir/initdb.log" | tr '\n' ' ')"
    return 1
  fi
  # Trust, on loopback and the private socket only; except the role drw_password_check, which must give its
  # password, so that tests can see a real login refusal (DRW_TEST_POSTGRES_PASSWORD_ROLE).
  printf '%s\n' 'local all all trust' 'host all drw_password_check 127.0.0.1/32 scram-sha-256' \
    'host all all 127.0.0.1/32 trust' 'host replication all 127.0.0.1/32 trust' > "$dir/data/pg_hba.conf"
  cat >> "$dir/data/postgresql.conf" << EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
EOF
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start > "$dir/pg_ctl.log" 2>&1; then
    REASON="pg_ctl start failed: $(tail -n 3 "$dir/server.log" 2> /dev/null | tr '\n' ' ')"
    PG_DATA=$dir/data # it may be half up: let the EXIT trap try to stop it
    return 1
  fi
  PG_DATA=$dir/data
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -c "CREATE ROLE drw_password_check LOGIN PASSWORD 'drw-right-password'" \
    > "$dir/role.log" 2>&1 || { REASON="could not create the password-check role: $(tail -n 2 "$dir/role.log" | tr '\n' ' ')"; return 1; }
  export DRW_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  export DRW_TEST_POSTGRES_PASSWORD_ROLE=drw_password_check
  export DRW_TEST_PG_BIN=$PG_BIN
}

start_redis() {
  local port dir=$TMP/redis i
  command -v redis-server > /dev/null || { REASON="redis-server is not installed (apt-get install redis-server)"; return 1; }
  port=$(free_port) || { REASON="no free port"; return 1; }
  say "starting Redis on 127.0.0.1:$port"
  mkdir -p "$dir"
  REDIS_PIDFILE=$dir/redis.pid
  if ! redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save "" --appendonly no \
    --enable-debug-command local --pidfile "$REDIS_PIDFILE" --dir "$dir" --logfile "$dir/redis.log" \
    < /dev/null > "$dir/start.log" 2>&1; then
    REASON="redis-server failed: $(tail -n 3 "$dir/start.log" "$dir/redis.log" 2> /dev/null | tr '\n' ' ')"
    return 1
  fi
  for ((i = 0; i < 100; i++)); do
    if [[ -s $REDIS_PIDFILE ]] && [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2> /dev/null)" == PONG ]]; then
      export DRW_TEST_REDIS=127.0.0.1:$port
      return 0
    fi
    sleep 0.1
  done
  REASON="Redis did not answer PING within 10s: $(tail -n 3 "$dir/redis.log" 2> /dev/null | tr '\n' ' ')"
  return 1
}

# start_s3 [offsite]: the S3 stand-in, or with "offsite" a second one (its own port and data) for the offsite copy.
start_s3() {
  local port dir=$TMP/s3${1:+-$1} bin=$REPO/tests/standins/node_modules/.bin/s3rver pid
  [[ -e $bin ]] || { REASON="s3rver is not installed (npm ci in tests/standins)"; return 1; }
  command -v node > /dev/null || { REASON="node is not on PATH"; return 1; }
  port=$(free_port) || { REASON="no free port"; return 1; }
  say "starting s3rver${1:+ ($1)} on 127.0.0.1:$port"
  mkdir -p "$dir/data"
  # `node <bin>` rather than npx, so that $! is the server itself.
  node "$bin" -d "$dir/data" -a 127.0.0.1 -p "$port" < /dev/null > "$dir/s3rver.log" 2>&1 &
  pid=$!
  if [[ -n ${1:-} ]]; then S3_OFFSITE_PID=$pid; else S3_PID=$pid; fi
  if ! wait_tcp "$port" "$pid" 30; then
    REASON="s3rver${1:+ ($1)} did not listen within 30s: $(tail -n 3 "$dir/s3rver.log" | tr '\n' ' ')"
    return 1
  fi
  if [[ -n ${1:-} ]]; then export DRW_TEST_S3_OFFSITE_URL=http://127.0.0.1:$port; else export DRW_TEST_S3_URL=http://127.0.0.1:$port; fi
}

# A second s3rver serving HTTPS (pgBackRest talks to S3 over TLS only): a self-signed certificate for
# IP:127.0.0.1 made here, and the bucket `pgbackrest` created at start (tests give each repository its own path).
start_s3_tls() {
  local port dir=$TMP/s3tls bin=$REPO/tests/standins/node_modules/.bin/s3rver
  [[ -e $bin ]] || { REASON="s3rver is not installed (npm ci in tests/standins)"; return 1; }
  command -v node > /dev/null || { REASON="node is not on PATH"; return 1; }
  command -v openssl > /dev/null || { REASON="openssl is not on PATH"; return 1; }
  port=$(free_port) || { REASON="no free port"; return 1; }
  say "starting s3rver over TLS on 127.0.0.1:$port"
  mkdir -p "$dir/data"
  if ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" > "$dir/openssl.log" 2>&1; then
    REASON="openssl could not make a certificate: $(tail -n 3 "$dir/openssl.log" | tr '\n' ' ')"
    return 1
  fi
  node "$bin" -d "$dir/data" -a 127.0.0.1 -p "$port" --key "$dir/key.pem" --cert "$dir/cert.pem" \
    --configure-bucket pgbackrest < /dev/null > "$dir/s3rver.log" 2>&1 &
  S3_TLS_PID=$!
  if ! wait_tcp "$port" "$S3_TLS_PID" 30; then
    REASON="s3rver (TLS) did not listen within 30s: $(tail -n 3 "$dir/s3rver.log" | tr '\n' ' ')"
    return 1
  fi
  export DRW_TEST_S3_TLS_URL=https://127.0.0.1:$port
  export DRW_TEST_S3_TLS_CA=$dir/cert.pem
}

# Removes every container, network, volume and image in the private daemon except the base images.
reset_docker() {
  local ids ref
  ids=$(dk ps -aq 2> /dev/null) || return 0
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086
    dk rm -f -v $ids > /dev/null 2>&1 || true
  fi
  dk network prune -f > /dev/null 2>&1 || true
  dk volume prune -f > /dev/null 2>&1 || true
  while read -r ref; do
    [[ -z $ref || " ${BASE_IMAGES[*]} " == *" $ref "* ]] || dk rmi -f "$ref" > /dev/null 2>&1 || true
  done < <(dk image ls --format '{{.Repository}}:{{.Tag}}' 2> /dev/null | grep -v '<none>' || true)
  dk image prune -f > /dev/null 2>&1 || true
}

start_docker() {
  local data="" dir=$TMP/docker slot i
  command -v dockerd > /dev/null || { REASON="dockerd is not installed (apt-get install docker.io)"; return 1; }
  command -v docker > /dev/null || { REASON="the docker CLI is not installed (apt-get install docker.io)"; return 1; }
  [[ $EUID -eq 0 ]] || { REASON="dockerd needs root"; return 1; }
  mkdir -p "$CACHE" "$dir/exec" || { REASON="cannot create $CACHE or $dir"; return 1; }
  # The data-root persists (images survive between runs). A lock per data-root lets two runs coexist: the
  # second one takes the next slot. The lock is inherited by dockerd only, so it is held exactly as long as
  # that dockerd lives.
  for slot in "" -2 -3 -4 -5 -6 -7 -8; do
    exec 9> "$CACHE/docker$slot.lock"
    if flock -n 9; then
      data=$CACHE/docker$slot
      break
    fi
    exec 9>&-
  done
  [[ -n $data ]] || { REASON="every Docker data-root under $CACHE is in use by another run (see docs/testing.md)"; return 1; }
  mkdir -p "$data"
  echo '{}' > "$dir/daemon.json"
  DOCKER_SOCK=$dir/docker.sock
  DOCKER_EXEC=$dir/exec
  say "starting dockerd (socket $DOCKER_SOCK, data-root $data)"
  # No iptables, no ip_forward, no default bridge: the host's network configuration stays as it is.
  dockerd --config-file "$dir/daemon.json" --data-root "$data" --exec-root "$DOCKER_EXEC" \
    --pidfile "$dir/dockerd.pid" -H "unix://$DOCKER_SOCK" --iptables=false --ip6tables=false \
    --ip-forward=false --bridge=none --storage-driver=overlay2 < /dev/null > "$dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  exec 9>&-
  for ((i = 0; i < 300; i++)); do
    if dk version > /dev/null 2>&1; then
      reset_docker
      export DRW_TEST_DOCKER_HOST=unix://$DOCKER_SOCK
      return 0
    fi
    alive "$DOCKERD_PID" || break
    sleep 0.1
  done
  REASON="dockerd did not answer within 30s: $(grep -iE 'level=(error|fatal)|failed' "$dir/dockerd.log" | tail -n 3 | tr '\n' ' ')"
  return 1
}

build_images() {
  local image built=()
  if ! DOCKER_HOST=unix://$DOCKER_SOCK bash "$INFRA/build-images.sh" "$CACHE" "${BASE_IMAGES[@]}"; then
    REASON="tests/infra/build-images.sh failed (see above)"
  fi
  for image in "${BASE_IMAGES[@]}"; do
    if dk image inspect "$image" > /dev/null 2>&1; then built+=("$image"); fi
  done
  DRW_TEST_DOCKER_IMAGES=$(IFS=,; echo "${built[*]}")
  export DRW_TEST_DOCKER_IMAGES
  [[ ${#built[@]} -eq ${#BASE_IMAGES[@]} ]]
}

# ---------------------------------------------------------------------------------------------------------------
# Teardown (EXIT trap): stop, by PID, everything this run started; then print the summary as the last line.

cleanup() {
  local i pid mounts
  if [[ -n $TEST_PID ]] && alive "$TEST_PID"; then
    say "stopping the test run"
    kill -TERM -- "-$TEST_PID" 2> /dev/null || kill -TERM "$TEST_PID" 2> /dev/null || true
    for ((i = 0; i < 150; i++)); do alive "$TEST_PID" || break; sleep 0.1; done
    kill -KILL -- "-$TEST_PID" 2> /dev/null || true
  fi
  if [[ -n $DOCKERD_PID ]]; then
    if alive "$DOCKERD_PID"; then
      say "stopping dockerd"
      reset_docker
      stop_pid "$DOCKERD_PID" dockerd 30
    fi
    wait "$DOCKERD_PID" 2> /dev/null || true
    # dockerd's own containerd, if dockerd had to be killed.
    pid=$(cat "$DOCKER_EXEC/containerd/containerd.pid" 2> /dev/null || true)
    [[ -z $pid ]] || stop_pid "$pid" containerd 10
  fi
  if [[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]]; then
    say "stopping PostgreSQL"
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop > /dev/null 2>&1; then
      pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2> /dev/null || true)
      [[ -z $pid ]] || { kill -QUIT "$pid" 2> /dev/null || true; }
    fi
  fi
  if [[ -n $REDIS_PIDFILE && -s $REDIS_PIDFILE ]]; then
    say "stopping Redis"
    stop_pid "$(cat "$REDIS_PIDFILE")" redis-server 10
  fi
  if [[ -n $S3_PID ]]; then
    say "stopping s3rver"
    stop_pid "$S3_PID" s3rver 10
    wait "$S3_PID" 2> /dev/null || true
  fi
  if [[ -n $S3_TLS_PID ]]; then
    say "stopping s3rver (TLS)"
    stop_pid "$S3_TLS_PID" "s3rver (TLS)" 10
    wait "$S3_TLS_PID" 2> /dev/null || true
  fi
  if [[ -n $S3_OFFSITE_PID ]]; then
    say "stopping s3rver (offsite)"
    stop_pid "$S3_OFFSITE_PID" s3rver 10
    wait "$S3_OFFSITE_PID" 2> /dev/null || true
  fi
  if $STRICT; then # compiler servers would outlive the run (and hold its output open)
    dotnet build-server shutdown > /dev/null 2>&1 || true
  fi
  if [[ -n $TMP && -d $TMP ]]; then
    # dockerd leaves <exec-root>/netns/default mounted; never rm -rf through a mount point.
    mounts=$(findmnt -rn -o TARGET | grep -F "$TMP/" | sort -r || true)
    while read -r i; do [[ -z $i ]] || umount "$i" 2> /dev/null || umount -l "$i" 2> /dev/null || true; done <<< "$mounts"
    if findmnt -rn -o TARGET | grep -qF "$TMP/"; then
      say "WARNING: something is still mounted under $TMP; leaving it in place"
    else
      rm -rf "$TMP"
    fi
  fi
}

on_exit() {
  local rc=$? passed=0 failed=0 skipped=0 files=0 line
  trap '' INT TERM HUP
  set +e
  cleanup
  if [[ -n $RESULTS && -n $MARKER ]]; then
    while IFS= read -r line; do
      if [[ $line == COUNTS\ * ]]; then
        read -r _ passed failed skipped files <<< "$line"
      else
        echo "$line"
      fi
    done < <(python3 "$INFRA/trx-summary.py" "$RESULTS" "$MARKER")
  fi
  if $INTERRUPTED; then
    say "interrupted (exit status $rc)"
  elif [[ -n $TEST_RC ]]; then
    if ((TEST_RC == 124 || TEST_RC == 137)); then
      say "ERROR: the test run hit the ${DRW_TEST_TIMEOUT:-50m} limit (DRW_TEST_TIMEOUT)"
    elif ((TEST_RC != 0)); then
      say "ERROR: dotnet test exited with $TEST_RC (a build error, a failed test or a crashed test app; see above)"
    fi
    ((rc != 0)) || rc=$TEST_RC
    if ((rc == 0 && failed > 0)); then rc=1; fi
    if ((passed + failed == 0)); then
      say "ERROR: no test ran ($files result files)"
      ((rc != 0)) || rc=1
    fi
  fi
  say "finished in $((SECONDS - STARTED))s"
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  exit "$rc"
}

# ---------------------------------------------------------------------------------------------------------------

main() {
  trap on_exit EXIT
  trap 'INTERRUPTED=true; exit 130' INT
  trap 'INTERRUPTED=true; exit 143' TERM
  trap 'INTERRUPTED=true; exit 129' HUP
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/drw-tests.XXXXXX")
  chmod 711 "$TMP" # the postgres user must reach $TMP/pg
  # Ports the test processes pick (tests/DrWorkflows.Testing/FreePort.cs) are reserved here, one file each, so two
  # test projects running at once never get the same one.
  export DRW_TEST_PORTS_DIR=$TMP/ports

  if ! bash "$INFRA/install-deps.sh" "$TMP/logs"; then
    if $STRICT; then
      say "ERROR: could not install what the tests need (CI=true)"
      exit 1
    fi
    say "WARNING: some test dependencies are missing; tests that need them will be skipped"
  fi

  # --- Elsa Studio bundle (issue 4): npm package pinned in src/DrWorkflows.Server/studio, installed by its script ---
  mkdir -p "$TMP/logs"
  if DRW_STUDIO_OUT=$(bash "$REPO/src/DrWorkflows.Server/studio/install.sh" 2> "$TMP/logs/studio-install.err"); then
    export DRW_TEST_STUDIO_DIR=${DRW_STUDIO_OUT##*$'\n'}
  else
    unavailable "Elsa Studio bundle" "src/DrWorkflows.Server/studio/install.sh failed: $(tail -n 3 "$TMP/logs/studio-install.err" | tr '\n' ' ')"
  fi
  # --- end Elsa Studio bundle ---

  start_postgres || unavailable PostgreSQL "$REASON"
  start_redis || unavailable Redis "$REASON"
  start_s3 || unavailable s3rver "$REASON"
  start_s3_tls || unavailable "s3rver (TLS)" "$REASON"
  start_s3 offsite || unavailable "s3rver (offsite)" "$REASON"
  if start_docker; then
    build_images || unavailable "Docker images" "${REASON:-not all of ${BASE_IMAGES[*]} were built}"
  else
    unavailable dockerd "$REASON"
  fi
  if [[ -x /usr/bin/chromium ]]; then
    export DRW_TEST_CHROMIUM=/usr/bin/chromium
  else
    unavailable Chromium "/usr/bin/chromium is missing (apt-get install chromium)"
  fi
  if $STRICT; then export DRW_TEST_STRICT=1; fi

  local name
  for name in DRW_TEST_POSTGRES DRW_TEST_PG_BIN DRW_TEST_REDIS DRW_TEST_S3_URL DRW_TEST_S3_TLS_URL DRW_TEST_S3_OFFSITE_URL DRW_TEST_DOCKER_HOST \
    DRW_TEST_DOCKER_IMAGES DRW_TEST_CHROMIUM DRW_TEST_STUDIO_DIR DRW_TEST_STRICT; do
    [[ -z ${!name:-} ]] || say "$name=${!name}"
  done

  RESULTS=${DRW_TEST_RESULTS:-$REPO/tests/TestResults/run}
  if [[ -z ${DRW_TEST_RESULTS:-} ]]; then rm -rf "$RESULTS"; fi
  mkdir -p "$RESULTS"
  MARKER=$(date +%s.%N) # only result files written after this count

  local target=(--solution "$REPO/DrWorkflows.sln") arg
  for arg in "$@"; do
    if [[ $arg == --project || $arg == --solution || $arg == --project=* || $arg == --solution=* ]]; then target=(); fi
  done
  say "running: dotnet test ${target[*]} $* (results in $RESULTS)"
  # In the background, in its own process group (timeout makes one), so that the traps can stop all of it.
  timeout -k 30s "${DRW_TEST_TIMEOUT:-50m}" dotnet test "${target[@]}" \
    "-p:CustomAfterMicrosoftCommonTargets=$INFRA/TestReports.targets" \
    --report-xunit-trx --results-directory "$RESULTS" --ignore-exit-code 8 "$@" < /dev/null &
  TEST_PID=$!
  TEST_RC=0
  wait "$TEST_PID" || TEST_RC=$?
  TEST_PID=""
  exit "$TEST_RC"
}

main "$@"
