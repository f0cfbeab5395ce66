#!/usr/bin/env bash
# Load benchmark of `greenlight serve`: declarations submitted (parsed, triaged on the
# effective declaration with both packs, stored with the audit chain) per second, with
# p50/p99 latency, measured with wrk on loopback against SQLite and, when
# GREENLIGHT_TEST_POSTGRES_URL is set, PostgreSQL.
#
# Baseline measured in the same run: GET /healthz (the HTTP stack alone, no store), so the
# submission figures read as a ratio of what the machine's HTTP path can do.
#
# Then the cost of notifications: the same submissions again with SUBSCRIBERS webhooks
# (default 3) subscribed to every event, each answered by a local receiver, so every
# submission also writes an event and its deliveries in its batch and the dispatcher sends
# them meanwhile. Reported as the ratio of submissions per second with and without.
#
# Knobs (environment): DURATION (default 20s), CONNECTIONS (default 64), THREADS (default 2),
# BIN (default: target/release/greenlight, built if missing), CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SUBSCRIBERS=${SUBSCRIBERS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/greenlight}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
if [ ! -x "$BIN" ]; then
  cargo build --release -p greenlight --no-default-features --features server >&2
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/submit.lua" <<'LUA'
-- Every request submits a declaration with a reference of its own.
local counter = 0
local id = 0
local threads = {}
function setup(thread)
  id = id + 1
  thread:set("tid", id)
  table.insert(threads, thread)
end
function init(args)
  path = args[1]
  token = args[2]
  prefix = args[3]
end
request = function()
  counter = counter + 1
  local body = "greenlight: declaration/v1\nproduction:\n  title: Bench\nuse:\n  ref: " .. prefix .. "-" .. tid .. "-" .. counter ..
    "\n  summary: Storyboard ideas for the storm sequence\n  purpose: ideation\ntools:\n  - name: Acme Imagine Enterprise\n" ..
    "    enterprise_agreement: true\n    data_use: none\ninputs:\n  - kind: prompt\noutputs:\n  final: false\n"
  return wrk.format("POST", path, {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/yaml"}, body)
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d errors=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, bad, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

cat > "$WORK/get.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_server() { # URL LABEL
  local url=$1 label=$2
  "$BIN" admin keygen --out "$WORK/$label.key" >/dev/null
  local out
  out=$("$BIN" admin create --email "admin@bench.example" --org "Bench $label" --database-url "$url" \
        --audit-key "$WORK/$label.key" --checkpoint-log "$WORK/$label.checkpoints")
  ADMIN=$(echo "$out" | grep '^glt_')
  GREENLIGHT_LOG=warn "$BIN" serve --bind 127.0.0.1:0 --database-url "$url" --audit-key "$WORK/$label.key" \
        --checkpoint-log "$WORK/$label.checkpoints" --webhook-allow-private \
        > "$WORK/$label.out" 2> "$WORK/$label.err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q 'listening on' "$WORK/$label.out" 2>/dev/null && break
    sleep 0.1
  done
  BASE=$(sed -n 's/^Greenlight listening on //p' "$WORK/$label.out")
  local studio production uid
  studio=$(curl -s -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/me" | json_field "['memberships'][0]['org_id']")
  production=$(curl -s -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
      -d '{"title":"Bench","kind":"scripted","eu_release":true,"release_date":"2027-03-01"}' "$BASE/api/v1/productions" | json_field "['id']")
  uid=$(curl -s -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
      -d '{"email":"partner@bench.example","roles":["partner"]}' "$BASE/api/v1/orgs/$studio/members" | json_field "['id']")
  PARTNER=$(curl -s -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{}' \
      "$BASE/api/v1/users/$uid/tokens" | json_field "['token']")
  PRODUCTION=$production
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# A webhook receiver answering 204 to every POST (python3's http.server, threaded).
cat > "$WORK/receiver.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
RECEIVER_PID=
start_receiver() {
  python3 "$WORK/receiver.py" > "$WORK/receiver.port" &
  RECEIVER_PID=$!
  for _ in $(seq 1 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
  RECEIVER_PORT=$(head -1 "$WORK/receiver.port")
}

run() { # LABEL URL
  local label=$1 url=$2
  start_server "$url" "$label"
  local base_line sub_line batches sub2_line
  base_line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/get.lua" "$BASE/healthz" | grep '^RESULT')
  sub_line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/submit.lua" "$BASE" \
      -- "/api/v1/productions/$PRODUCTION/declarations" "$PARTNER" "$label" | grep '^RESULT')
  start_receiver
  for i in $(seq 1 "$SUBSCRIBERS"); do
    curl -s -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
      -d "{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/hook/$i\",\"events\":[\"*\"]}" "$BASE/api/v1/webhooks"
  done
  sub2_line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/submit.lua" "$BASE" \
      -- "/api/v1/productions/$PRODUCTION/declarations" "$PARTNER" "$label-sub" | grep '^RESULT')
  local delivered
  delivered=$(curl -s "$BASE/metrics" | grep -E '^greenlight_notifications_delivered_total' | awk '{print $2}')
  kill "$RECEIVER_PID" 2>/dev/null || true
  batches=$(curl -s "$BASE/metrics" | grep -E '^greenlight_store_(write_batches|write_requests|commit_seconds|batch_seconds)_total' | tr '\n' ' ')
  stop_server
  local verify
  verify=$("$BIN" audit verify --database-url "$url" --public-key "$WORK/$label.key" --checkpoint-log "$WORK/$label.checkpoints" 2>&1 | head -1 || true)
  echo "$label baseline GET /healthz: ${base_line#RESULT }"
  echo "$label submit (triage+store):  ${sub_line#RESULT }"
  echo "$label submit, $SUBSCRIBERS webhooks subscribed: ${sub2_line#RESULT } (deliveries sent meanwhile: $delivered)"
  python3 -c "import sys; a=float(sys.argv[1]); b=float(sys.argv[2]); print(f'$label submissions/s with subscribers / without: {b/a:.2f}')" \
    "$(echo "$sub_line" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')" "$(echo "$sub2_line" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')"
  echo "$label store: $batches"
  echo "$label audit: $verify"
}

echo "greenlight load benchmark: $DURATION, $CONNECTIONS connections, $THREADS wrk threads, $(nproc) cores"
run sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${GREENLIGHT_TEST_POSTGRES_URL:-}" ]; then
  DB="gl_bench_$$"
  psql "$GREENLIGHT_TEST_POSTGRES_URL" -qc "CREATE DATABASE \"$DB\""
  run postgres "${GREENLIGHT_TEST_POSTGRES_URL%/*}/$DB"
  psql "$GREENLIGHT_TEST_POSTGRES_URL" -qc "DROP DATABASE \"$DB\" WITH (FORCE)"
else
  echo "postgres: skipped (GREENLIGHT_TEST_POSTGRES_URL is not set)"
fi
