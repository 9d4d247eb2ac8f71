#!/usr/bin/env bash
# Backup/restore benchmark (issue 6): one command, on this machine only (127.0.0.1).
#   tests/bench/backup-bench.sh [SIZE_MB]      (default 1024: a database of at least 1 GB)
# 1. starts a throwaway PostgreSQL 15 and s3rver on free loopback ports, in a temp dir;
# 2. generates a shop-like database of SIZE_MB (text, JSON, numbers, timestamps: compresses about 2-3:1);
# 3. times the raw tools: pg_dump -Fc -Z0 | zstd -T0 -3 | age -r KEY, uploaded to s3rver with curl;
#    and pg_restore -j2 from a local -Z0 dump file;
# 4. times DrWorkflows' backup (to S3, zstd + age) and restore (download, verify, decrypt, decompress,
#    pg_restore -j2) through the BackupBenchmark test, with the peak resident memory of that process;
# 5. prints each as a ratio to the raw tools (targets: <= 1.15x; peak memory <= 200 MB), then stops everything.
# Needs: postgresql-15, zstd, age, curl, node (s3rver from tests/standins), the .NET SDK.
set -euo pipefail

SIZE_MB=${1:-1024}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${DRW_TEST_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
TMP=$(mktemp -d /tmp/drw-bench-XXXXXX)
chmod 755 "$TMP"
PG_STARTED=false
S3_PID=""

say() { printf '==> %s\n' "$*"; }
cleanup() {
  [[ -n $S3_PID ]] && kill "$S3_PID" 2> /dev/null || true
  $PG_STARTED && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -m fast stop > /dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
seconds() { local start=$1; echo "scale=3; ($(date +%s%N) - $start) / 1000000000" | bc; }

for tool in zstd age age-keygen curl node bc; do command -v $tool > /dev/null || { echo "missing: $tool" >&2; exit 1; }; done

say "starting PostgreSQL 15 and s3rver"
install -d -o postgres -g postgres "$TMP/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$TMP/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > /dev/null
PG_PORT=$(freeport)
printf "listen_addresses='127.0.0.1'\nport=%s\nunix_socket_directories='%s'\nmax_wal_size=4GB\nfsync=off\nsynchronous_commit=off\nshared_buffers=256MB\n" "$PG_PORT" "$TMP/pg" >> "$TMP/pg/data/postgresql.conf"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -l "$TMP/pg/server.log" -w start > /dev/null
PG_STARTED=true
S3_BIN=$REPO/tests/standins/node_modules/.bin/s3rver
[[ -e $S3_BIN ]] || (cd "$REPO/tests/standins" && npm ci --silent > /dev/null)
S3_PORT=$(freeport)
mkdir -p "$TMP/s3"
node "$S3_BIN" -d "$TMP/s3" -a 127.0.0.1 -p "$S3_PORT" > "$TMP/s3.log" 2>&1 < /dev/null &
S3_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.2; done
S3=http://127.0.0.1:$S3_PORT
curl -sf -X PUT "$S3/bench" > /dev/null
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
PSQL="$PG_BIN/psql -X -q -v ON_ERROR_STOP=1"

say "generating a ${SIZE_MB} MB database (this takes a while)"
ROWS=$(( SIZE_MB * 1024 * 1024 / 300 ))
$PSQL -d postgres -c "CREATE DATABASE bench"
$PSQL -d bench <<SQL
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL, profile jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), status text NOT NULL,
                     total numeric(12,2) NOT NULL, details jsonb NOT NULL, note text, created_at timestamptz NOT NULL);
CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, message text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO customers (email, name, profile, created_at)
SELECT 'user' || g || '@example.test', initcap(substr(md5(g::text), 1, 9)) || ' ' || initcap(substr(md5((g*3)::text), 1, 11)),
       jsonb_build_object('tier', (ARRAY['bronze','silver','gold'])[1 + g % 3], 'newsletter', g % 2 = 0, 'score', (g * 7919) % 1000,
                          'address', jsonb_build_object('street', (g % 999) || ' ' || substr(md5((g*5)::text), 1, 8) || ' street', 'city', 'City ' || g % 397)),
       now() - (g % 100000) * interval '1 minute'
  FROM generate_series(1::bigint, $(( ROWS / 10 ))) g;
INSERT INTO orders (customer_id, status, total, details, note, created_at)
SELECT 1 + g % $(( ROWS / 10 )), (ARRAY['new','paid','shipped','returned'])[1 + g % 4], (g * 37 % 100000) / 100.0,
       jsonb_build_object('items', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 5000, 'qty', 1 + g % 4, 'price', (g % 900) + 0.99),
                                                     jsonb_build_object('sku', 'SKU-' || (g * 7) % 5000, 'qty', 1 + g % 3)),
                          'channel', (ARRAY['web','app','phone'])[1 + g % 3], 'token', md5((g * 31)::text),
                          'coupon', CASE WHEN g % 9 = 0 THEN upper(substr(md5(g::text), 1, 8)) END),
       CASE WHEN g % 4 = 0 THEN 'Leave at the door, ring ' || (g % 3 + 1) || ' times. Ref ' || md5(g::text) END,
       now() - (g % 500000) * interval '10 seconds'
  FROM generate_series(1::bigint, $(( ROWS / 2 ))) g;
INSERT INTO events (kind, message, created_at)
SELECT (ARRAY['login','logout','view','search','cart'])[1 + g % 5],
       'user ' || (g % 50000) || ' ' || (ARRAY['opened','closed','searched for','added','removed'])[1 + g % 5] || ' item ' || md5(g::text) || ' from session ' || md5((g*13)::text),
       now() - g * interval '1 second'
  FROM generate_series(1::bigint, $(( ROWS * 4 / 10 ))) g;
VACUUM ANALYZE;
SQL
DB_BYTES=$($PSQL -d bench -tAc "SELECT pg_database_size('bench')")
say "database size: $(( DB_BYTES / 1024 / 1024 )) MB"

age-keygen -o "$TMP/age.key" 2> "$TMP/age.pub"
RECIPIENT=$(sed 's/^.*: //' "$TMP/age.pub")

say "raw tools: pg_dump -Fc -Z0 | zstd -T0 -3 | age, upload with curl"
start=$(date +%s%N)
"$PG_BIN/pg_dump" -Fc -Z0 -d bench | zstd -q -T0 -3 | age -r "$RECIPIENT" > "$TMP/raw.age"
curl -sf -T "$TMP/raw.age" "$S3/bench/raw.age" > /dev/null
RAW_BACKUP=$(seconds "$start")
RAW_STORED=$(stat -c %s "$TMP/raw.age")
rm -f "$TMP/raw.age"
"$PG_BIN/pg_dump" -Fc -Z0 -d bench -f "$TMP/raw.dump"
$PSQL -d postgres -c "CREATE DATABASE bench_restored_raw"
say "raw tools: pg_restore -j2 from a local file"
start=$(date +%s%N)
"$PG_BIN/pg_restore" -j 2 -d bench_restored_raw "$TMP/raw.dump"
RAW_RESTORE=$(seconds "$start")
$PSQL -d postgres -c "DROP DATABASE bench_restored_raw"
DUMP_BYTES=$(stat -c %s "$TMP/raw.dump")
rm -f "$TMP/raw.dump"

say "DrWorkflows: backup to S3 and restore (BackupBenchmark test)"
export DRW_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres" DRW_TEST_PG_BIN=$PG_BIN DRW_TEST_S3_URL=$S3 \
  DRW_BENCH_DATABASE=bench DRW_BENCH_BUCKET=bench DRW_BENCH_AGE_RECIPIENT=$RECIPIENT DRW_BENCH_AGE_IDENTITY=$TMP/age.key \
  DRW_BENCH_OUT=$TMP/ours.json
dotnet test --project "$REPO/tests/DrWorkflows.Activities.Tests" --artifacts-path "$TMP/artifacts" -c Release \
  -- --filter-class "*BackupBenchmark" > "$TMP/test.log" 2>&1 || { tail -n 40 "$TMP/test.log"; exit 1; }
read -r OUR_BACKUP OUR_RESTORE OUR_STORED BACKUP_PEAK RESTORE_PEAK < <(python3 -c "
import json; r = json.load(open('$TMP/ours.json'))
print(r['backupSeconds'], r['restoreSeconds'], r['storedBytes'], r['backupPeakBytes'], r['restorePeakBytes'])")

python3 - "$DB_BYTES" "$DUMP_BYTES" "$RAW_BACKUP" "$RAW_STORED" "$RAW_RESTORE" "$OUR_BACKUP" "$OUR_STORED" "$OUR_RESTORE" "$BACKUP_PEAK" "$RESTORE_PEAK" <<'PY'
import sys
db, dump, rb, rs, rr, ob, os_, orr, bp, rp = map(float, sys.argv[1:])
mb = lambda b: b / 1048576
print(f"database {mb(db):.0f} MB, dump (-Z0) {mb(dump):.0f} MB, stored {mb(os_):.0f} MB (ratio {dump / os_:.2f}:1)")
print(f"{'':28}{'raw tools':>12}{'DrWorkflows':>14}{'ratio':>8}  target")
print(f"{'backup (s)':28}{rb:12.1f}{ob:14.1f}{ob / rb:8.2f}  <= 1.15")
print(f"{'restore (s)':28}{rr:12.1f}{orr:14.1f}{orr / rr:8.2f}  <= 1.15 (ours includes download, verify, decrypt, decompress)")
print(f"{'peak memory, backup (MB)':28}{'':12}{mb(bp):14.0f}{'':8}  <= 200 (whole test process)")
print(f"{'peak memory, restore (MB)':28}{'':12}{mb(rp):14.0f}{'':8}  <= 200 (whole test process)")
PY
