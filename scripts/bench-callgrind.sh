#!/usr/bin/env bash
# Instructions per request for each stack of sdk/benches/scenarios, counted by callgrind: the
# difference between a run of 2 000 and of 12 000 requests, divided by 10 000, so start-up cost
# cancels out. Counts do not depend on what else the machine is doing; background threads that
# wake on wall-clock timers (the log writer, tokio's timer) make them vary by about 1k between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
# The release profile: the bench profile differs only by debug info, and would build every
# dependency once more for it.
bin=$(cargo build --release -p obs-service --all-features --bench instructions --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="instructions" and m.get("executable"): print(m["executable"])')
count() { # stack requests -> instructions
  local out; out=$(mktemp)
  OBS_BENCH_STACK=$1 OBS_BENCH_REQUESTS=$2 valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"; rm -f "$out"
}
printf '%-24s %14s\n' stack instr/request
for stack in bare_axum obs_metrics_ids obs_metrics_ids_span obs_full obs_full_loki axum_prometheus otel_metrics hand_assembled; do
  small=$(count "$stack" 2000); big=$(count "$stack" 12000)
  printf '%-24s %14d\n' "$stack" $(( (big - small) / 10000 ))
done
