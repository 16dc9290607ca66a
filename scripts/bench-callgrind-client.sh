#!/usr/bin/env bash
# Instructions per outgoing call of the client process, counted by callgrind, against a bare
# server that runs outside valgrind; the difference between a long and a short run, divided by
# the calls between them, so start-up cost cancels out:
#   http  the reqwest stacks of sdk/benches/client_calls.rs calling sdk/examples/bare.rs over one
#         kept-alive connection (12 000 and 2 000 calls)
#   grpc  the tonic stacks of sdk/benches/grpc_client_calls.rs calling sdk/examples/grpc_bare.rs
#         over one channel (6 000 and 1 000 calls)
#
#   scripts/bench-callgrind-client.sh [http|grpc]      # default http
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
case "${1:-http}" in
  http) server=bare; bench=client_calls; server_env=(BARE_STACK=bare DEMO_ADDR)
        stacks=(reqwest middleware obs); short=2000; long=12000 ;;
  grpc) server=grpc_bare; bench=grpc_client_calls; server_env=(GRPC_STACK=bare DEMO_GRPC_ADDR)
        stacks=(tonic noop obs); short=1000; long=6000 ;;
  *) echo "usage: $0 [http|grpc]"; exit 2 ;;
esac
cargo build --release -q -p obs-service --all-features --example "$server"
bin=$(cargo build --release -p obs-service --all-features --bench "$bench" --message-format=json 2>/dev/null |
  BENCH="$bench" python3 -c 'import json,os,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]==os.environ["BENCH"] and m.get("executable"): print(m["executable"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env "${server_env[0]}" "${server_env[1]}=127.0.0.1:$port" "${CARGO_TARGET_DIR:-target}/release/examples/$server" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
count() { # stack calls -> instructions
  local out; out=$(mktemp)
  OBS_BENCH_SERVER="127.0.0.1:$port" OBS_BENCH_CLIENT=$1 OBS_BENCH_CALLS=$2 \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
printf '%-44s %14s\n' client instr/call
for stack in "${stacks[@]}"; do
  small=$(count "$stack" "$short"); big=$(count "$stack" "$long")
  printf '%-44s %14d\n' "$stack" $(( (big - small) / (long - short) ))
done
