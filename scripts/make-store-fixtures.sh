#!/usr/bin/env bash
# Writes the databases that crates/greenlight-store/tests/upgrade.rs opens: one SQLite file and
# one PostgreSQL dump, each holding the demo data (organisations, people, a production,
# declarations with their triages, history and audit log), a ledger of registered assets and a
# reference bank, as the binary of the commit that runs this script stores them. They were
# made before the bank and ledger tables moved into the store crate, so the test proves that
# databases made before that change keep working.
#
# Usage: scripts/make-store-fixtures.sh [BINARY]   (default: the debug build of this tree)
# With a binary built elsewhere, set FIXTURE_COMMIT to the commit it was built from.
# Needs ffmpeg, sqlite3, psql/pg_dump and a PostgreSQL server at 127.0.0.1:5432 (trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/greenlight}"
out=crates/greenlight-store/tests/fixtures/upgrade
pg="${GREENLIGHT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240 -frames:v 1 "$work/keyart.png"
ffmpeg -v error -y -f lavfi -i "mandelbrot=size=320x240:rate=24" -t 2 -c:v libx264 \
  -pix_fmt yuv420p "$work/previs.mp4"
ffmpeg -v error -y -f lavfi -i "life=size=320x240:rate=1" -frames:v 1 "$work/poster.png"
printf 'a temporary note\n' > "$work/notes.txt"
"$bin" admin keygen --out "$work/audit.key" >/dev/null

# Seeds one database through the binary: the server's demo data, then the ledger and a bank.
seed() {
  local url="$1"
  "$bin" serve --demo --database-url "$url" --bind 127.0.0.1:0 \
    --audit-key "$work/audit.key" --checkpoint-log "$work/checkpoints-$RANDOM.jsonl" \
    > "$work/serve.out" 2> "$work/serve.err" &
  local pid=$!
  for _ in $(seq 1 120); do
    grep -q "listening on" "$work/serve.out" && break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" || true
  grep -q "listening on" "$work/serve.out" || { cat "$work/serve.err"; exit 1; }
  local production
  production="$(GREENLIGHT_DB="$url" production_id "$url")"
  "$bin" assets add --database-url "$url" --production "$production" --use VFX-SKY-01 \
    --tool "Imagen Studio" "$work/keyart.png" "$work/previs.mp4" >/dev/null
  "$bin" assets add --database-url "$url" --production "$production" --use NOTES-1 \
    "$work/notes.txt" >/dev/null
  "$bin" bank add --database-url "$url" --bank protected --id W-1 --title "A Protected Work" \
    "$work/poster.png" >/dev/null
}

production_id() {
  case "$1" in
    sqlite*) sqlite3 "$(sqlite_file "$1")" "SELECT id FROM productions ORDER BY id LIMIT 1" ;;
    *) psql -qtA "$1" -c "SELECT id FROM productions ORDER BY id LIMIT 1" ;;
  esac
}

sqlite_file() { local f="${1#sqlite://}"; echo "${f%%\?*}"; }

# Row counts of every table, the test's expectation.
counts() {
  case "$1" in
    sqlite*)
      local f; f="$(sqlite_file "$1")"
      for t in $(sqlite3 "$f" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"); do
        printf '%s %s\n' "$t" "$(sqlite3 "$f" "SELECT count(*) FROM \"$t\"")"
      done ;;
    *)
      for t in $(psql -qtA "$1" -c "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> '_sqlx_migrations' ORDER BY tablename"); do
        printf '%s %s\n' "$t" "$(psql -qtA "$1" -c "SELECT count(*) FROM \"$t\"")"
      done ;;
  esac
}

mkdir -p "$out"
rm -f "$out/before.db"
seed "sqlite://$PWD/$out/before.db?mode=rwc"
sqlite3 "$out/before.db" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;" >/dev/null
rm -f "$out/before.db-wal" "$out/before.db-shm"
counts "sqlite://$PWD/$out/before.db" > "$out/sqlite-counts.txt"

db="greenlight_fixture_$$"
base="${pg%/*}"
psql -qtA "$pg" -c "CREATE DATABASE $db" >/dev/null
seed "$base/$db"
# Plain INSERTs (not COPY) so the test can replay the dump through sqlx, with no psql.
pg_dump --no-owner --no-privileges --inserts "$base/$db" > "$out/before-postgres.sql"
counts "$base/$db" > "$out/postgres-counts.txt"
psql -qtA "$pg" -c "DROP DATABASE $db" >/dev/null

# The audit signing key of both databases (a throwaway test key), so the test verifies the
# audit chain and its signed checkpoints.
cp "$work/audit.key" "$out/audit.key"
echo "made by $("$bin" --version) built from commit ${FIXTURE_COMMIT:-$(git rev-parse --short HEAD)}" > "$out/MADE-BY"
ls -l "$out"
