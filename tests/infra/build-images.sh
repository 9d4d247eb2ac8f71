#!/usr/bin/env bash
# Builds the offline container images the tests use, into the Docker daemon named by DOCKER_HOST, without any
# registry (see /work/shared/research/container-engine.md §4):
#   local/busybox:1  static busybox with every applet in /bin (about 2 MB, under a second)
#   local/pg:15      Debian minbase + postgresql-15 + pgbackrest; the entrypoint runs initdb on first start from
#                    POSTGRES_PASSWORD / PGPORT; HEALTHCHECK pg_isready (first build about a minute)
#   local/drw-runtime:1  the base of the orchestrator image in tests (deploy/orchestrator/Dockerfile BASE_IMAGE):
#                    local/pg:15's root filesystem plus the tools the DR activities run (zstd, age, gpg, ssh,
#                    redis-cli, docker-compose, sqlite3, CA certificates); no entrypoint (first build about a minute)
# Idempotent: an image whose recipe label matches this script is kept. The PostgreSQL root filesystem is cached
# under CACHE_DIR/rootfs, so a new Docker data-root only costs a `docker import` (a few seconds).
# The Debian mirror is the one this machine's apt is configured with (read from /etc/apt/sources.list*).
# Usage: DOCKER_HOST=unix:///path/docker.sock tests/infra/build-images.sh CACHE_DIR [IMAGE...]
set -euo pipefail

CACHE=${1:?usage: build-images.sh CACHE_DIR [IMAGE...]}
shift
IMAGES=("$@")
((${#IMAGES[@]})) || IMAGES=(local/busybox:1 local/pg:15 local/drw-runtime:1)
: "${DOCKER_HOST:?set DOCKER_HOST to the daemon to build into}"

LABEL=org.drworkflows.recipe

recipe_of() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

hash_of() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------------------------
# local/busybox:1

busybox_rootfs() { # DIR
  local r=$1 bb=/bin/busybox a
  if [[ ! -x $bb ]] || ldd "$bb" > /dev/null 2>&1; then
    echo "build-images: $bb is missing or not statically linked (apt-get install busybox-static)" >&2
    return 1
  fi
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/root"
  chmod 1777 "$r/tmp"
  cp "$bb" "$r/bin/busybox"
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
  echo 'root:x:0:' > "$r/etc/group"
}

build_busybox() {
  local image=local/busybox:1 hash work
  hash=$( { declare -f busybox_rootfs; sha256sum /bin/busybox 2> /dev/null; } | hash_of)
  if [[ "$(recipe_of "$image")" == "$hash" ]]; then
    echo "==> image $image is up to date"
    return 0
  fi
  echo "==> building image $image"
  work=$(mktemp -d)
  local ok=0
  busybox_rootfs "$work/root" &&
    tar -C "$work/root" --numeric-owner -c . | docker import \
      -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' -c "LABEL $LABEL=$hash" - "$image" > /dev/null || ok=1
  rm -rf "$work"
  return "$ok"
}

# ---------------------------------------------------------------------------------------------------------------
# local/pg:15

# Prints "SUITE ARCHIVE_URI SECURITY_URI" for this machine's Debian release from its apt sources
# (one-line *.list files and deb822 *.sources files).
apt_mirror() {
  python3 - << 'EOF'
import glob, re, sys

codename = ""
with open("/etc/os-release") as f:
    for line in f:
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip().strip('"')
if not codename:
    sys.exit("build-images: no VERSION_CODENAME in /etc/os-release")

entries = []  # (uri, suite, components)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(line) >= 4 and line[0] == "deb":
            entries.append((line[1], line[2], line[3:]))
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for block in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"])[0] == "no":
            continue
        for uri in fields.get("uris", []):
            for suite in fields.get("suites", []):
                entries.append((uri, suite, fields.get("components", [])))

def find(suite):
    for uri, s, components in entries:
        if s == suite and "main" in components:
            return uri.rstrip("/")
    return ""

archive, security = find(codename), find(codename + "-security")
if not archive:
    sys.exit(f"build-images: no apt source for '{codename} main' in /etc/apt/sources.list*")
print(codename, archive, security or "-")
EOF
}

pg_entrypoint() {
  cat << 'EOF'
#!/bin/sh
# First start: initdb into $PGDATA (a volume) with POSTGRES_PASSWORD; then run postgres as the postgres user.
set -e
PGDATA=${PGDATA:-/var/lib/postgresql/data}; PGPORT=${PGPORT:-5432}; export PGDATA PGPORT
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  echo "${POSTGRES_PASSWORD:-postgres}" > "$pw"
  chown postgres "$pw"
  setpriv --reuid=postgres --regid=postgres --init-groups /usr/lib/postgresql/15/bin/initdb -D "$PGDATA" \
    --username=postgres --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 > /dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups /usr/lib/postgresql/15/bin/postgres -D "$PGDATA" -p "$PGPORT" "$@"
EOF
}

pg_rootfs() { # DIR SUITE ARCHIVE SECURITY
  local f=$1 suite=$2 archive=$3 security=$4
  # Own mount namespace: whatever debootstrap or the chroot mounts (proc, sys) disappears with it.
  timeout 900 unshare -m debootstrap --variant=minbase "$suite" "$f" "$archive" > "$f.debootstrap.log" 2>&1 || {
    echo "build-images: debootstrap failed (last lines of $f.debootstrap.log):" >&2
    tail -n 15 "$f.debootstrap.log" >&2
    return 1
  }
  {
    echo "deb $archive $suite main"
    echo "deb $archive $suite-updates main"
    [[ $security == - ]] || echo "deb $security $suite-security main"
  } > "$f/etc/apt/sources.list" &&
    printf '#!/bin/sh\nexit 101\n' > "$f/usr/sbin/policy-rc.d" &&
    chmod +x "$f/usr/sbin/policy-rc.d" &&
    mkdir -p "$f/etc/postgresql-common" &&
    echo 'create_main_cluster = false' > "$f/etc/postgresql-common/createcluster.conf" &&
    cp /etc/resolv.conf "$f/etc/resolv.conf" || return 1
  local conf
  for conf in /etc/apt/apt.conf.d/*; do # an apt proxy setting of this machine applies in the chroot too
    if [[ -f $conf ]] && grep -qi 'Acquire::.*Proxy' "$conf"; then cp "$conf" "$f/etc/apt/apt.conf.d/"; fi
  done
  timeout 900 unshare -m sh -c "mount -t proc proc '$f/proc' && chroot '$f' sh -c 'apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 && \
    apt-get clean && rm -rf /var/lib/apt/lists/*'" > "$f.install.log" 2>&1 || {
    echo "build-images: installing postgresql-15 in the chroot failed (last lines of $f.install.log):" >&2
    tail -n 15 "$f.install.log" >&2
    return 1
  }
  rm -f "$f/etc/resolv.conf" "$f/usr/sbin/policy-rc.d" &&
    pg_entrypoint > "$f/usr/local/bin/pg-entrypoint.sh" &&
    chmod +x "$f/usr/local/bin/pg-entrypoint.sh"
}

# pgBackRest on top of the PostgreSQL root filesystem (a copy; the base stays as it is, so local/drw-runtime:1 and
# its cache do not change): continuous WAL archiving and point-in-time restore run inside the database container
# (docs/activities/pgbackrest.md). /etc/pgbackrest and /var/{log,spool,lib}/pgbackrest belong to postgres, because
# every pgBackRest command but restore refuses to run as root.
pgbackrest_rootfs() { # DIR PG_ROOTFS
  local f=$1 pg=$2
  cp -a "$pg/." "$f/" &&
    printf '#!/bin/sh\nexit 101\n' > "$f/usr/sbin/policy-rc.d" &&
    chmod +x "$f/usr/sbin/policy-rc.d" &&
    cp /etc/resolv.conf "$f/etc/resolv.conf" || return 1
  timeout 900 unshare -m sh -c "mount -t proc proc '$f/proc' && chroot '$f' sh -c 'apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pgbackrest ca-certificates && \
    mkdir -p /etc/pgbackrest /var/log/pgbackrest /var/spool/pgbackrest /var/lib/pgbackrest /tmp/pgbackrest && \
    chown postgres:postgres /etc/pgbackrest /var/log/pgbackrest /var/spool/pgbackrest /var/lib/pgbackrest /tmp/pgbackrest && \
    chmod 750 /etc/pgbackrest /var/lib/pgbackrest && pgbackrest version && \
    apt-get clean && rm -rf /var/lib/apt/lists/*'" > "$f.install.log" 2>&1 || {
    echo "build-images: installing pgbackrest in the chroot failed (last lines of $f.install.log):" >&2
    tail -n 15 "$f.install.log" >&2
    return 1
  }
  rm -f "$f/etc/resolv.conf" "$f/usr/sbin/policy-rc.d"
}

build_pg() {
  local image=local/pg:15 suite archive security rootfs_hash hash dir base
  read -r suite archive security < <(apt_mirror) || true
  [[ -n ${suite:-} && -n ${archive:-} ]] || return 1
  # The mirror is not part of the recipe: the same release from another mirror gives the same image.
  rootfs_hash=$( { declare -f pg_rootfs pg_entrypoint; echo "$suite"; } | hash_of)
  hash=$( { echo "$rootfs_hash"; declare -f build_pg pgbackrest_rootfs; } | hash_of)
  if [[ "$(recipe_of "$image")" == "$hash" ]]; then
    echo "==> image $image is up to date"
    return 0
  fi
  mkdir -p "$CACHE/rootfs" || return 1
  base=$CACHE/rootfs/pg15-$rootfs_hash
  dir=$CACHE/rootfs/pg15br-$( { echo "$rootfs_hash"; declare -f pgbackrest_rootfs; } | hash_of)
  (
    flock 8 || exit 1 # one builder at a time; a second run waits, then finds the cached root filesystem
    [[ -f $dir.complete ]] && exit 0
    if [[ ! -f $base.complete ]]; then
      echo "==> building the PostgreSQL 15 root filesystem from $archive ($suite); cached in $base"
      rm -rf "$base" "$base.partial" && mkdir -p "$base.partial" || exit 1
      pg_rootfs "$base.partial" "$suite" "$archive" "$security" || exit 1
      mv "$base.partial" "$base" && rm -f "$base.partial".*.log && touch "$base.complete" || exit 1
      # Root filesystems of older recipes are not needed any more.
      for old in "$CACHE"/rootfs/pg15-*; do
        [[ $old == "$base" || $old == "$base.complete" ]] || rm -rf "$old"
      done
    fi
    echo "==> adding pgbackrest to the PostgreSQL 15 root filesystem; cached in $dir"
    rm -rf "$dir" "$dir.partial" && mkdir -p "$dir.partial" || exit 1
    pgbackrest_rootfs "$dir.partial" "$base" || exit 1
    mv "$dir.partial" "$dir" && rm -f "$dir.partial".*.log && touch "$dir.complete" || exit 1
    for old in "$CACHE"/rootfs/pg15br-*; do
      [[ $old == "$dir" || $old == "$dir.complete" ]] || rm -rf "$old"
    done
  ) 8> "$CACHE/rootfs/.lock" || return 1
  echo "==> importing image $image"
  tar -C "$dir" --numeric-owner -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/pg-entrypoint.sh"]' \
    -c 'ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'EXPOSE 5432' -c 'VOLUME /var/lib/postgresql/data' \
    -c 'HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD pg_isready -h 127.0.0.1 -p "${PGPORT:-5432}" -U postgres' \
    -c "LABEL $LABEL=$hash" - "$image" > /dev/null
}

# ---------------------------------------------------------------------------------------------------------------
# local/drw-runtime:1

runtime_rootfs() { # DIR PG_ROOTFS: a copy of the PostgreSQL root filesystem plus the orchestrator's tools
  local f=$1 pg=$2
  cp -a "$pg/." "$f/" &&
    printf '#!/bin/sh\nexit 101\n' > "$f/usr/sbin/policy-rc.d" &&
    chmod +x "$f/usr/sbin/policy-rc.d" &&
    cp /etc/resolv.conf "$f/etc/resolv.conf" || return 1
  # The same packages as deploy/orchestrator/install-tools.sh installs on debian:bookworm-slim.
  timeout 900 unshare -m sh -c "mount -t proc proc '$f/proc' && chroot '$f' sh -c 'apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends zstd age gnupg openssh-client \
    redis-tools docker-compose ca-certificates sqlite3 git && apt-get clean && rm -rf /var/lib/apt/lists/*'" > "$f.install.log" 2>&1 || {
    echo "build-images: installing the orchestrator's tools in the chroot failed (last lines of $f.install.log):" >&2
    tail -n 15 "$f.install.log" >&2
    return 1
  }
  rm -f "$f/etc/resolv.conf" "$f/usr/sbin/policy-rc.d" "$f/usr/local/bin/pg-entrypoint.sh"
}

build_runtime() {
  local image=local/drw-runtime:1 suite archive security pg_dir hash dir
  read -r suite archive security < <(apt_mirror) || true
  [[ -n ${suite:-} && -n ${archive:-} ]] || return 1
  # local/pg:15's root filesystem (the same hash as build_pg's); when its cache is gone, build_pg makes it again.
  pg_dir=$CACHE/rootfs/pg15-$( { declare -f pg_rootfs pg_entrypoint; echo "$suite"; } | hash_of)
  if [[ ! -f $pg_dir.complete ]]; then
    docker image rm -f local/pg:15 > /dev/null 2>&1 || true
    build_pg || return 1
  fi
  hash=$( { echo "$pg_dir"; declare -f runtime_rootfs build_runtime; } | hash_of)
  if [[ "$(recipe_of "$image")" == "$hash" ]]; then
    echo "==> image $image is up to date"
    return 0
  fi
  dir=$CACHE/rootfs/drw-runtime-$hash
  (
    flock 8 || exit 1
    [[ -f $dir.complete ]] && exit 0
    echo "==> building the orchestrator's base root filesystem from $pg_dir; cached in $dir"
    rm -rf "$dir" "$dir.partial" && mkdir -p "$dir.partial" || exit 1
    runtime_rootfs "$dir.partial" "$pg_dir" || exit 1
    mv "$dir.partial" "$dir" && rm -f "$dir.partial".*.log && touch "$dir.complete" || exit 1
    for old in "$CACHE"/rootfs/drw-runtime-*; do
      [[ $old == "$dir" || $old == "$dir.complete" ]] || rm -rf "$old"
    done
  ) 8> "$CACHE/rootfs/.lock" || return 1
  echo "==> importing image $image"
  tar -C "$dir" --numeric-owner -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["/bin/bash"]' \
    -c "LABEL $LABEL=$hash" - "$image" > /dev/null
}

status=0
for image in "${IMAGES[@]}"; do
  case $image in
    local/busybox:1) build_busybox || { echo "==> could not build $image"; status=1; } ;;
    local/pg:15) build_pg || { echo "==> could not build $image"; status=1; } ;;
    local/drw-runtime:1) build_runtime || { echo "==> could not build $image"; status=1; } ;;
    *) echo "build-images: unknown image $image" >&2; status=1 ;;
  esac
done
exit "$status"
