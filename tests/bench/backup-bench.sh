#!/usr/bin/env bash
# Backup/restore benchmark (issue 6): one command, on this machine only (127.0.0.1).
#   tests/bench/backup-bench.sh [SIZE_MB]      (default 1024: a database of at least 1 GB)
# 1. starts a throwaway PostgreSQL 15 and s3rver on free loopback ports, in a temp dir;
# 2. generates a shop-like database of SIZE_MB (text, JSON, numbers, timestamps: compresses about 2-3:1);
# 3. times the raw tools: pg_dump -Fc -Z0 | zstd -T0 -3 | age -r KEY, uploaded to s3rver with curl;
#    and pg_restore -j2 from a local -Z0 dump file, alone and with curl | age -d | zstd -d of the stored backup
#    running alongside; three times: before, between and after our two runs;
# 4. times DrWorkflows' backup (to S3, zstd + age) and restore (into a new database: pg_restore while the backup
#    downloads, verifies, decrypts and decompresses; indexes once it is whole) through the BackupBenchmark test,
#    with the CPU and the peak resident memory of that process; twice, in a fresh process ("cold": first backup of
#    the process) and after an untimed backup and restore of the same database ("warm"); and the same backup
#    restored from the local store;
#    and the scheduled path: one backup written to the local store and to S3 at once (one read of the database),
#    against one raw pg_dump | zstd | age into a file;
# 5. prints each as a ratio to the raw tools (targets: <= 1.15x, local + S3 <= 1.2x; peak memory <= 200 MB), then
#    stops everything.
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
# About 330 bytes of table and index per row. The values are drawn at random (fixed seed): words of two or three
# syllables from a set of 50 plus an ending, random hex tokens, prices, e-mail addresses, IPs, timestamps, in text
# and JSON columns. pg_dump -Z0 of it compresses about 2.8:1 with zstd -3 (the ratio is printed at the end).
ROWS=$(( SIZE_MB * 1024 * 1024 / 320 ))
$PSQL -d postgres -c "CREATE DATABASE bench"
$PSQL -d bench <<SQL
SELECT setseed(0.42) \gset
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL, profile jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), status text NOT NULL,
                     total numeric(12,2) NOT NULL, details jsonb NOT NULL, note text, created_at timestamptz NOT NULL);
CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, message text NOT NULL, created_at timestamptz NOT NULL);
CREATE FUNCTION pg_temp.w() RETURNS text LANGUAGE sql VOLATILE AS \$f\$
  SELECT (ARRAY['ka','lo','mi','ne','su','ra','ti','po','de','an','ber','cor','dal','fen','gis','hol','jun','kir','lum','mar',
                'nor','pel','qua','ros','sal','tur','ul','val','wen','yor','zel','bri','cla','dro','fle','gra','ise','ost','ump','est',
                'ing','ton','ley','ard','ell','ix','on','us','ia','er'])[1 + floor(random() * 50)::int]
      || (ARRAY['ka','lo','mi','ne','su','ra','ti','po','de','an','ber','cor','dal','fen','gis','hol','jun','kir','lum','mar',
                'nor','pel','qua','ros','sal','tur','ul','val','wen','yor','zel','bri','cla','dro','fle','gra','ise','ost','ump','est',
                'ing','ton','ley','ard','ell','ix','on','us','ia','er'])[1 + floor(random() * 50)::int]
      || CASE WHEN random() < 0.5 THEN (ARRAY['ka','lo','mi','ne','su','ra','ti','po','de','an','ber','cor','dal','fen','gis','hol','jun','kir','lum','mar',
                'nor','pel','qua','ros','sal','tur','ul','val','wen','yor','zel','bri','cla','dro','fle','gra','ise','ost','ump','est',
                'ing','ton','ley','ard','ell','ix','on','us','ia','er'])[1 + floor(random() * 50)::int] ELSE '' END
      || (ARRAY['','','','s','n','t','r','ly','ed','er','a','o','e','y','i','u'])[1 + floor(random() * 16)::int]
\$f\$;
CREATE FUNCTION pg_temp.words(n int) RETURNS text LANGUAGE sql VOLATILE AS \$f\$
  SELECT string_agg(pg_temp.w(), ' ') FROM generate_series(1, n)
\$f\$;
CREATE FUNCTION pg_temp.hex(n int) RETURNS text LANGUAGE sql VOLATILE AS \$f\$
  SELECT substr(md5(random()::text) || md5(random()::text), 1, n)
\$f\$;
INSERT INTO customers (email, name, profile, created_at)
SELECT pg_temp.w() || '.' || pg_temp.w() || floor(random() * 1000)::int || '@' || pg_temp.w() || (ARRAY['.com','.net','.org','.de','.io'])[1 + floor(random() * 5)::int],
       initcap(pg_temp.w()) || ' ' || initcap(pg_temp.w() || pg_temp.w()),
       jsonb_build_object('tier', (ARRAY['bronze','silver','gold'])[1 + floor(random() * 3)::int], 'newsletter', random() < 0.5,
                          'score', round((random() * 1000)::numeric, 1), 'phone', '+' || floor(random() * 1e11)::bigint,
                          'tags', to_jsonb(string_to_array(pg_temp.words(1 + floor(random() * 4)::int), ' ')),
                          'address', jsonb_build_object('street', floor(random() * 999)::int || ' ' || initcap(pg_temp.w()) || ' street',
                                                        'city', initcap(pg_temp.w()), 'zip', lpad(floor(random() * 99999)::int::text, 5, '0'))),
       now() - random() * interval '900 days'
  FROM generate_series(1::bigint, $(( ROWS / 10 ))) g;
INSERT INTO orders (customer_id, status, total, details, note, created_at)
SELECT 1 + floor(random() * ($(( ROWS / 10 ))))::bigint, (ARRAY['new','paid','shipped','returned'])[1 + floor(random() * 4)::int], round((random() * 2000)::numeric, 2),
       jsonb_build_object('items', jsonb_build_array(jsonb_build_object('sku', upper(pg_temp.hex(8)), 'name', pg_temp.words(2), 'qty', 1 + floor(random() * 5)::int, 'price', round((random() * 500)::numeric, 2)),
                                                     jsonb_build_object('sku', upper(pg_temp.hex(8)), 'name', pg_temp.words(2), 'qty', 1 + floor(random() * 3)::int, 'price', round((random() * 200)::numeric, 2))),
                          'channel', (ARRAY['web','app','phone'])[1 + floor(random() * 3)::int], 'token', pg_temp.hex(32),
                          'ip', floor(random() * 223 + 1)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int,
                          'coupon', CASE WHEN random() < 0.1 THEN upper(pg_temp.hex(8)) END),
       CASE WHEN random() < 0.3 THEN initcap(pg_temp.words(4 + floor(random() * 10)::int)) || '.' END,
       now() - random() * interval '700 days'
  FROM generate_series(1::bigint, $(( ROWS / 2 ))) g;
INSERT INTO events (kind, message, created_at)
SELECT (ARRAY['login','logout','view','search','cart'])[1 + floor(random() * 5)::int],
       'user ' || floor(random() * 1e6)::int || ' ' || (ARRAY['opened','closed','searched for','added','removed'])[1 + floor(random() * 5)::int] || ' ' || pg_temp.words(2 + floor(random() * 6)::int)
         || ' session ' || pg_temp.hex(16) || ' took ' || floor(random() * 5000)::int || ' ms',
       now() - random() * interval '400 days'
  FROM generate_series(1::bigint, $(( ROWS * 4 / 10 ))) g;
VACUUM ANALYZE;
SQL
DB_BYTES=$($PSQL -d bench -tAc "SELECT pg_database_size('bench')")
say "database size: $(( DB_BYTES / 1024 / 1024 )) MB"

age-keygen -o "$TMP/age.key" 2> "$TMP/age.pub"
RECIPIENT=$(sed 's/^.*: //' "$TMP/age.pub")

# The raw tools run before, between and after our two runs; each of ours is compared with the mean of the raw runs
# on either side of it, so that the load of this shared machine weighs on both sides alike.
"$PG_BIN/pg_dump" -Fc -Z0 -d bench -f "$TMP/raw.dump"
DUMP_BYTES=$(stat -c %s "$TMP/raw.dump")
settle() { # before each timed side: dirty pages of the previous step written out, so neither side pays for them
  $PSQL -d postgres -c CHECKPOINT
  sync
}
raw_round() { # prints: backup seconds, restore seconds, stored bytes, restore seconds with a download alongside, seconds to a local file
  local start backup restore stored tofile
  # One raw pg_dump | zstd | age into a file, no upload: what the scheduled backup to local + S3 at once is held to.
  settle
  start=$(date +%s%N)
  "$PG_BIN/pg_dump" -Fc -Z0 -d bench | zstd -q -T0 -3 | age -r "$RECIPIENT" > "$TMP/raw-file.age"
  tofile=$(seconds "$start")
  rm -f "$TMP/raw-file.age"
  settle
  start=$(date +%s%N)
  "$PG_BIN/pg_dump" -Fc -Z0 -d bench | zstd -q -T0 -3 | age -r "$RECIPIENT" > "$TMP/raw.age"
  curl -sf -T "$TMP/raw.age" "$S3/bench/raw.age" > /dev/null
  backup=$(seconds "$start")
  stored=$(stat -c %s "$TMP/raw.age")
  rm -f "$TMP/raw.age"
  $PSQL -d postgres -c "CREATE DATABASE bench_restored_raw"
  start=$(date +%s%N)
  "$PG_BIN/pg_restore" -j 2 -d bench_restored_raw "$TMP/raw.dump"
  restore=$(seconds "$start")
  $PSQL -d postgres -c "DROP DATABASE bench_restored_raw"
  # The same restore while the raw tools download and decode the stored backup alongside (to /dev/null): what any
  # restore from S3 on this machine must at least pay for sharing its CPUs with the download.
  $PSQL -d postgres -c "CREATE DATABASE bench_restored_raw"
  settle
  start=$(date +%s%N)
  (curl -sf "$S3/bench/raw.age" | age -d -i "$TMP/age.key" | zstd -q -d > /dev/null) &
  "$PG_BIN/pg_restore" -j 2 -d bench_restored_raw "$TMP/raw.dump"
  wait $!
  alongside=$(seconds "$start")
  $PSQL -d postgres -c "DROP DATABASE bench_restored_raw"
  echo "$backup $restore $stored $alongside $tofile"
}

say "building the test project (Release)"
dotnet build "$REPO/tests/DrWorkflows.Activities.Tests" --artifacts-path "$TMP/artifacts" -c Release > "$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log"; exit 1; }
export DRW_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=postgres" DRW_TEST_PG_BIN=$PG_BIN DRW_TEST_S3_URL=$S3 \
  DRW_BENCH_DATABASE=bench DRW_BENCH_BUCKET=bench DRW_BENCH_AGE_RECIPIENT=$RECIPIENT DRW_BENCH_AGE_IDENTITY=$TMP/age.key
# Ours twice, each in a new test process: "cold" (the timed backup is the first of the process, which also pays the
# JIT compilation of everything it runs) and "warm" (an untimed backup and restore of the same database first, as in
# a server that has run backups and restores before). The restored database is dropped after each.
ours() { # MODE
  settle
  DRW_BENCH_OUT=$TMP/$1.json DRW_BENCH_LOG=$TMP/$1.log DRW_BENCH_WARM=$([[ $1 == warm ]] && echo 1 || echo 0) \
    dotnet test --project "$REPO/tests/DrWorkflows.Activities.Tests" --artifacts-path "$TMP/artifacts" -c Release --no-build \
    -- --filter-class "*BackupBenchmark" > "$TMP/test-$1.log" 2>&1 || { tail -n 40 "$TMP/test-$1.log"; exit 1; }
}
say "load average before the timed part: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores, shared machine)"
say "raw tools (1/3): pg_dump -Fc -Z0 | zstd -T0 -3 | age to a file, and again with an upload with curl; pg_restore -j2 from a local -Z0 file"
RAW1=$(raw_round)
say "DrWorkflows, cold: backup to S3 and restore (BackupBenchmark test)"
ours cold
say "raw tools (2/3)"
RAW2=$(raw_round)
say "DrWorkflows, warm"
ours warm
say "raw tools (3/3)"
RAW3=$(raw_round)
rm -f "$TMP/raw.dump"

python3 - "$TMP" "$DB_BYTES" "$DUMP_BYTES" "$RAW1" "$RAW2" "$RAW3" <<'PY'
import json, sys
tmp = sys.argv[1]
db, dump = map(float, sys.argv[2:4])
raw = [list(map(float, r.split())) for r in sys.argv[4:7]]
mb = lambda b: b / 1048576
runs = {mode: json.load(open(f"{tmp}/{mode}.json")) for mode in ("cold", "warm")}
c, w = runs["cold"], runs["warm"]
print(f"database {mb(db):.0f} MB, dump (-Z0) {mb(dump):.0f} MB, stored {mb(c['storedBytes']):.0f} MB: zstd -3 + age ratio {dump / c['storedBytes']:.2f}:1 (raw tools {dump / raw[0][2]:.2f}:1)")
print("raw tools, backup (s):  " + "  ".join(f"{r[0]:.1f}" for r in raw) + ";  to a file (s): " + "  ".join(f"{r[4]:.1f}" for r in raw) + ";  restore (s): " + "  ".join(f"{r[1]:.1f}" for r in raw))
print("raw tools, restore with curl | age -d | zstd -d > /dev/null of the stored backup alongside (s): " + "  ".join(f"{r[3]:.1f}" for r in raw)
      + f"  ({sum(r[3] for r in raw) / sum(r[1] for r in raw):.2f}x the restore alone: the least any restore from S3 pays here)")
rb_c, rb_w = (raw[0][0] + raw[1][0]) / 2, (raw[1][0] + raw[2][0]) / 2
rr_c, rr_w = (raw[0][1] + raw[1][1]) / 2, (raw[1][1] + raw[2][1]) / 2
print(f"{'':30}{'raw':>7}{'cold':>7}{'ratio':>7}{'raw':>7}{'warm':>7}{'ratio':>7}  target")
print(f"{'backup (s)':30}{rb_c:7.1f}{c['backupSeconds']:7.1f}{c['backupSeconds'] / rb_c:7.2f}{rb_w:7.1f}{w['backupSeconds']:7.1f}{w['backupSeconds'] / rb_w:7.2f}  <= 1.15")
print(f"{'restore (s)':30}{rr_c:7.1f}{c['restoreSeconds']:7.1f}{c['restoreSeconds'] / rr_c:7.2f}{rr_w:7.1f}{w['restoreSeconds']:7.1f}{w['restoreSeconds'] / rr_w:7.2f}  <= 1.15 (ours: download, verify, decrypt, decompress, pg_restore)")
overlapped = c.get('restoreWhileDownloading') and w.get('restoreWhileDownloading')
rf_c, rf_w = (raw[0][4] + raw[1][4]) / 2, (raw[1][4] + raw[2][4]) / 2
print(f"{'backup to local + S3 at once (s)':30}{rf_c:7.1f}{c['copiesSeconds']:7.1f}{c['copiesSeconds'] / rf_c:7.2f}{rf_w:7.1f}{w['copiesSeconds']:7.1f}{w['copiesSeconds'] / rf_w:7.2f}  <= 1.2 (one pg_dump written to both stores, against one raw pg_dump | zstd | age > file)")
print(f"{'restore from the local store (s)':30}{rr_c:7.1f}{c['localRestoreSeconds']:7.1f}{c['localRestoreSeconds'] / rr_c:7.2f}{rr_w:7.1f}{w['localRestoreSeconds']:7.1f}{w['localRestoreSeconds'] / rr_w:7.2f}  (the same backup kept in a local directory: verify, decrypt, decompress, pg_restore)")
print(f"{'  restore: download+decode (s)':30}{'':7}{c['restoreDownloadSeconds']:7.1f}{'':14}{w['restoreDownloadSeconds']:7.1f}" + ("  (done this long after the start: pg_restore ran meanwhile)" if overlapped else ""))
if not overlapped:
    print(f"{'  restore: pg_restore -j2 (s)':30}{'':7}{c['restorePgRestoreSeconds']:7.1f}{'':14}{w['restorePgRestoreSeconds']:7.1f}")
print(f"{'  backup CPU: ours / programs':30}{'':7}{c['backupCpuSelf']:7.1f}{c['backupCpuPrograms']:7.1f}{'':7}{w['backupCpuSelf']:7.1f}{w['backupCpuPrograms']:7.1f}  CPU-s: the test process / pg_dump, zstd, age")
print(f"{'  restore CPU: ours / programs':30}{'':7}{c['restoreCpuSelf']:7.1f}{c['restoreCpuPrograms']:7.1f}{'':7}{w['restoreCpuSelf']:7.1f}{w['restoreCpuPrograms']:7.1f}  CPU-s: the test process / age, zstd, pg_restore")
print(f"{'peak memory, backup (MB)':30}{'':14}{mb(c['backupPeakBytes']):7.0f}{'':21}{mb(w['backupPeakBytes']):7.0f}  <= 200 (whole test process)")
print(f"{'  local + S3 CPU: ours / programs':30}{'':7}{c['copiesCpuSelf']:7.1f}{c['copiesCpuPrograms']:7.1f}{'':7}{w['copiesCpuSelf']:7.1f}{w['copiesCpuPrograms']:7.1f}  CPU-s: the test process / pg_dump, zstd, age")
print(f"{'peak memory, local + S3 (MB)':30}{'':14}{mb(c['copiesPeakBytes']):7.0f}{'':21}{mb(w['copiesPeakBytes']):7.0f}  <= 200 (whole test process)")
print(f"{'peak memory, restore (MB)':30}{'':14}{mb(c['restorePeakBytes']):7.0f}{'':21}{mb(w['restorePeakBytes']):7.0f}  <= 200 (whole test process)")
print(f"{'  of which before the backup':30}{'':14}{mb(c['baselineBytes']):7.0f}{'':21}{mb(w['baselineBytes']):7.0f}")
PY
for mode in cold warm; do # the services' own lines: when each step of the timed backup and restore ended
  echo "$mode (seconds since the test process started):"
  grep -v "part \|warm\|_warm" "$TMP/$mode.log" | sed "s/^/  /" | cut -c1-160
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
