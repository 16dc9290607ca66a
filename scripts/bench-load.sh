#!/usr/bin/env bash
# Load benchmark: wrk on loopback against bare axum, the same routes with obs-service's layer, the
# demo (all its layers, JSON log written to a file) and the stack users assemble by hand today.
# Each server is pinned to core 0 and wrk to core 1. Then a memory run: a million requests at
# the demo with nobody scraping /metrics, sampling its RSS.
#
#   scripts/bench-load.sh                 # DURATION=10s CONNS=32 REQUESTS=1000000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
REQUESTS=${REQUESTS:-1000000}
cargo build --release -q -p obs-service --all-features --example demo --example bare
bin="${CARGO_TARGET_DIR:-target}/release/examples"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

start() { # name binary -> sets PID, PORT
  PORT=$(free_port)
  DEMO_ADDR="127.0.0.1:$PORT" taskset -c 0 "$bin/$2" >"$work/$1.log" 2>&1 &
  PID=$!
  wait_port "$PORT"
}

load() { taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$PORT/users/42"; }

# name, binary, extra environment -> prints req/s, keeps the log's line count in $work/<name>.lines
measure() {
  local name=$1 binary=$2; shift 2
  PORT=$(free_port)
  env "$@" DEMO_ADDR="127.0.0.1:$PORT" taskset -c 0 "$bin/$binary" >"$work/$name.log" 2>&1 &
  PID=$!
  wait_port "$PORT"
  load >/dev/null  # warm-up
  local r; r=$(load | rps)
  kill "$PID"; wait "$PID" 2>/dev/null || true
  wc -l <"$work/$name.log" >"$work/$name.lines"
  echo "$r"
}

bare=$(measure bare bare)
sdk=$(measure sdk bare BARE_STACK=obs)
demo=$(measure demo demo)
hand=$(measure hand bare BARE_STACK=hand)

echo "bare axum:                                        $bare req/s"
echo "bare + init + obs.layer (1 JSON line/request):    $sdk req/s ($(cat "$work/sdk.lines") lines written)"
echo "obs demo (all its layers, 2 JSON lines/request):  $demo req/s ($(cat "$work/demo.lines") lines written)"
echo "hand-assembled (tower-http + axum-prometheus + tracing-subscriber JSON): $hand req/s ($(cat "$work/hand.lines") lines written)"
python3 -c "b=float($bare); print(f'vs bare axum: SDK layer {float($sdk)/b*100:.1f} %, demo {float($demo)/b*100:.1f} %, hand-assembled {float($hand)/b*100:.1f} %')"

# Memory: RSS while a million requests go by, with no scrape of /metrics.
start demo demo
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
sent=0
echo "requests  rss_kib"
echo "0 $(rss)"
while [ "$sent" -lt "$REQUESTS" ]; do
  n=$(taskset -c 1 wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$PORT/users/$((sent % 1000))" | awk '/requests in/ {print $1}')
  sent=$((sent + n))
  echo "$sent $(rss)"
done
kill "$PID"; wait "$PID" 2>/dev/null || true
