#!/usr/bin/env bash
# Instructions per outgoing gRPC call of the client process, counted by callgrind: the tonic
# stacks of sdk/benches/grpc_client_calls.rs calling the bare tonic server of
# sdk/examples/grpc_bare.rs (which runs outside valgrind) over one channel; the difference
# between a run of 6 000 and one of 1 000 calls, divided by 5 000, so start-up cost cancels out.
#
#   scripts/bench-callgrind-grpc-client.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
cargo build --release -q -p obs-service --all-features --example grpc_bare
bin=$(cargo build --release -p obs-service --all-features --bench grpc_client_calls --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="grpc_client_calls" and m.get("executable"): print(m["executable"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GRPC_STACK=bare DEMO_GRPC_ADDR="127.0.0.1:$port" "${CARGO_TARGET_DIR:-target}/release/examples/grpc_bare" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
count() { # stack calls -> instructions
  local out; out=$(mktemp)
  OBS_BENCH_SERVER="127.0.0.1:$port" OBS_BENCH_CLIENT=$1 OBS_BENCH_CALLS=$2 \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
printf '%-44s %14s\n' client instr/call
for stack in tonic noop obs; do
  small=$(count "$stack" 1000); big=$(count "$stack" 6000)
  printf '%-44s %14d\n' "$stack" $(( (big - small) / 5000 ))
done
