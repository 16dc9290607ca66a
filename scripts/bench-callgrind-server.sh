#!/usr/bin/env bash
# Instructions per request of the whole server process (hyper, axum, the SDK, the log writer
# thread), counted by callgrind while a client sends real HTTP requests over loopback: the
# servers of the load benchmark (bare axum, the same with a layer that does nothing, with
# obs-service's layer, axum-prometheus' layer, the same with Loki on, the OpenTelemetry tower
# middleware, the demo, the hand-assembled stack), each the difference between a run of 2 000 and of 10 000 requests to
# `GET /users/42`, divided by 8 000, less quanta's clock calibration at start-up. Unlike wrk's
# req/s, the counts repeat whatever else the machine is doing; they leave out kernel time
# (sockets, the log file).
#
#   scripts/bench-callgrind-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
cargo build --release -q -p obs-service --all-features --example demo --example bare
bin="${CARGO_TARGET_DIR:-target}/release/examples"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
client() { python3 scripts/lib/keepalive-client.py "$1" "$2"; }
count() { # binary requests env... -> instructions
  local binary=$1 requests=$2; shift 2
  local port; port=$(free_port)
  env "$@" DEMO_ADDR="127.0.0.1:$port" valgrind --tool=callgrind \
    --callgrind-out-file="$work/out" "$bin/$binary" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  client "$port" "$requests"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  # Less the one-time clock calibration of quanta (metrics' clock), which loops on the clock
  # for a fixed time, so its count follows valgrind's speed and does not cancel between runs.
  local total calibration
  total=$(awk '/^summary:/ {print $2}' "$work/out")
  calibration=$(callgrind_annotate --inclusive=yes --threshold=100 "$work/out" 2>/dev/null |
    awk '/quanta::Clock::new \[/ {gsub(",", "", $1); print $1; exit}')
  echo $(( total - ${calibration:-0} ))
}
printf '%-44s %14s\n' server instr/request
row() { # label binary env...
  local label=$1 binary=$2; shift 2
  local small big
  small=$(count "$binary" 2000 "$@"); big=$(count "$binary" 10000 "$@")
  printf '%-44s %14d\n' "$label" $(( (big - small) / 8000 ))
}
row "bare axum" bare BARE_STACK=bare
# What axum charges for any layer added with `Router::layer` (each route wrapped once more).
row "bare + a layer that does nothing" bare BARE_STACK=noop
row "bare + init + obs.layer()" bare BARE_STACK=obs
# The same with Loki on: every line also queued, encoded and pushed (to a local endpoint that
# answers 204; it runs outside valgrind, so only the server's side is counted).
loki_port=$(free_port)
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"])); self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$loki_port" &
wait_port "$loki_port"
row "bare + init + obs.layer(), Loki on" bare BARE_STACK=obs LOKI_URL="http://127.0.0.1:$loki_port"
row "axum-prometheus (metrics only)" bare BARE_STACK=prometheus
row "OpenTelemetry tower middleware (metrics)" bare BARE_STACK=otel
row "obs demo (all its layers, 2 lines/request)" demo
row "hand-assembled" bare BARE_STACK=hand
