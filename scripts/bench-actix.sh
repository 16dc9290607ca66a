#!/usr/bin/env bash
# The actix-web adapter's cost (the route read before the handler, and from the answer), against
# bare actix-web, actix-web-prom (metrics only) and the peers that do the SDK's parts together
# (tracing-actix-web's span with JSON lines, and actix-web-prom), all serving the same routes of
# sdk/examples/actix_bare.rs:
#   1. instructions per request of the whole server process, counted by callgrind while a
#      client sends keep-alive `GET /users/42` over loopback on 4 connections: the difference
#      between a run of 2 000 and of 10 000 requests, divided by 8 000, less quanta's clock
#      calibration at start-up (as scripts/bench-callgrind-server.sh counts axum's stacks);
#   2. throughput: `wrk -t1 -c32` for DURATION seconds per stack and round, the server pinned
#      to core 0 and wrk to core 1, the stacks in a rotated order each round; the median req/s
#      of each, and each round's ratio to bare actix-web.
# The SDK's access lines go to a file, as a service's stdout would.
#
#   scripts/bench-actix.sh             # ROUNDS=3 DURATION=10
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
cargo build --release -q -p obs-service --all-features --example actix_bare
bin="${CARGO_TARGET_DIR:-target}/release/examples/actix_bare"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
STACKS=(bare obs obs-answer prom peers)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
count() { # stack requests -> instructions
  local stack=$1 requests=$2 port; port=$(free_port)
  ACTIX_STACK=$stack DEMO_ADDR="127.0.0.1:$port" valgrind --tool=callgrind \
    --callgrind-out-file="$work/out" "$bin" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  python3 scripts/lib/keepalive-client.py "$port" "$requests"
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  local total calibration
  total=$(awk '/^summary:/ {print $2}' "$work/out")
  calibration=$(callgrind_annotate --inclusive=yes --threshold=100 "$work/out" 2>/dev/null |
    awk '/quanta::Clock::new \[/ {gsub(",", "", $1); print $1; exit}')
  echo $(( total - ${calibration:-0} ))
}
echo "== instructions per request (callgrind, whole server)"
printf '%-36s %14s %14s\n' server instr/request "above bare"
declare -A per_request
for stack in "${STACKS[@]}"; do
  small=$(count "$stack" 2000); big=$(count "$stack" 10000)
  per_request[$stack]=$(( (big - small) / 8000 ))
done
label() { case $1 in bare) echo "bare actix-web";; obs) echo "obs-service (init + middleware)";; obs-answer) echo "obs-service, route from the answer";; prom) echo "actix-web-prom (metrics only)";; peers) echo "tracing-actix-web + actix-web-prom";; esac; }
for stack in "${STACKS[@]}"; do
  printf '%-36s %14d %14d\n' "$(label "$stack")" "${per_request[$stack]}" $(( per_request[$stack] - per_request[bare] ))
done

echo "== throughput (wrk -t1 -c32, ${DURATION}s, $ROUNDS rounds)"
declare -A rps
for round in $(seq 1 "$ROUNDS"); do
  shift_by=$(( (round - 1) % ${#STACKS[@]} ))
  order=("${STACKS[@]:$shift_by}" "${STACKS[@]:0:$shift_by}")
  for stack in "${order[@]}"; do
    port=$(free_port)
    ACTIX_STACK=$stack DEMO_ADDR="127.0.0.1:$port" taskset -c 0 "$bin" >"$work/$stack.log" 2>&1 &
    pid=$!
    wait_port "$port"
    wrk -t1 -c32 -d1s "http://127.0.0.1:$port/users/42" >/dev/null
    r=$(taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$port/users/42" |
      awk '/Requests\/sec/ {print $2}')
    kill -INT "$pid"; wait "$pid" 2>/dev/null || true
    rps[$stack]="${rps[$stack]:-} $r"
  done
  printf 'round %d:' "$round"
  for stack in "${STACKS[@]}"; do printf ' %s %s' "$stack" "$(echo "${rps[$stack]}" | awk '{print $NF}')"; done
  echo
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for stack in "${STACKS[@]}"; do
  m=$(echo "${rps[$stack]}" | median)
  b=$(echo "${rps[bare]}" | median)
  printf '%-36s %12.0f req/s  %5.2f of bare\n' "$(label "$stack")" "$m" "$(awk -v m="$m" -v b="$b" 'BEGIN {print m / b}')"
done
