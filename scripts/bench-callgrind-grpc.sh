#!/usr/bin/env bash
# Instructions per gRPC call of the whole server process (tonic, hyper's HTTP/2, the SDK, the
# log writer thread), counted by callgrind while grpcio sends unary calls one after the other
# over one channel: the `grpc_bare` example bare, with a layer that does nothing, with
# obs-service's gRPC layer and with the OpenTelemetry project's tower middleware, each the
# difference between a run of 1 000 and of 5 000 calls to `demo.v1.Users/Get`, divided by
# 4 000, less quanta's clock calibration at start-up, as scripts/bench-callgrind-server.sh
# counts the HTTP layer.
#
#   scripts/bench-callgrind-grpc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
python3 -c 'import grpc' 2>/dev/null || { echo "grpcio is missing: bash .ci/run deps"; exit 1; }
cargo build --release -q -p obs-service --all-features --example grpc_bare
bin="${CARGO_TARGET_DIR:-target}/release/examples"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
count() { # calls env... -> instructions
  local calls=$1; shift
  local port; port=$(free_port)
  env "$@" DEMO_GRPC_ADDR="127.0.0.1:$port" valgrind --tool=callgrind \
    --callgrind-out-file="$work/out" "$bin/grpc_bare" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  python3 scripts/lib/grpc-client.py "$port" "$calls"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  local total calibration
  total=$(awk '/^summary:/ {print $2}' "$work/out")
  calibration=$(callgrind_annotate --inclusive=yes --threshold=100 "$work/out" 2>/dev/null |
    awk '/quanta::Clock::new \[/ {gsub(",", "", $1); print $1; exit}')
  echo $(( total - ${calibration:-0} ))
}
printf '%-44s %14s\n' server instr/call
row() { # label env...
  local label=$1; shift
  local small big
  small=$(count 1000 "$@"); big=$(count 5000 "$@")
  printf '%-44s %14d\n' "$label" $(( (big - small) / 4000 ))
}
row "bare tonic" GRPC_STACK=bare
row "bare + a layer that does nothing" GRPC_STACK=noop
row "bare + init + obs.grpc_layer()" GRPC_STACK=obs
row "OpenTelemetry tower middleware (metrics)" GRPC_STACK=otel
