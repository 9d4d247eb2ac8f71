#!/bin/sh
# Installs, with apt, the tools the DR activities run that the base image lacks, and fails the build when one is
# still missing afterwards. On an image that already has them all (the tests' local/drw-runtime:1) it installs
# nothing and needs no network.
# Usage: install-tools.sh PG_MAJOR
set -eu
pg_major=${1:?usage: install-tools.sh PG_MAJOR}

# command-or-path:Debian package
tools="/usr/lib/postgresql/$pg_major/bin/pg_dump:postgresql-client-$pg_major
zstd:zstd
age:age
gpg:gnupg
ssh:openssh-client
redis-cli:redis-tools
docker-compose:docker-compose
sqlite3:sqlite3
git:git
/etc/ssl/certs/ca-certificates.crt:ca-certificates
bash:bash
setpriv:util-linux"

has() { case $1 in /*) [ -e "$1" ] ;; *) command -v "$1" > /dev/null 2>&1 ;; esac; }

missing=""
for entry in $tools; do
  has "${entry%%:*}" || missing="$missing ${entry#*:}"
done
if [ -n "$missing" ]; then
  echo "install-tools: installing$missing"
  apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi
for entry in $tools; do
  has "${entry%%:*}" || { echo "install-tools: ${entry%%:*} (package ${entry#*:}) is still missing" >&2; exit 1; }
done
echo "install-tools: every tool is present"
