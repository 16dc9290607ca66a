#!/usr/bin/env bash
# What a request costs around the user-space code: system calls and context switches per
# request of the whole server process (every thread), for the stacks of the load benchmark.
# Each figure is the difference between a run of 2 000 and of 12 000 requests (keep-alive, 4
# connections), divided by 10 000, so start-up cancels out.
#   - syscalls/request: `strace -f -c` (strace slows the server down; the counts stay exact)
#   - switches/request: voluntary and involuntary context switches from /proc, without strace
#   - perf's software events (context-switches, cpu-migrations) when `perf stat` works here;
#     hardware counters (cycles) are often "not supported" in VMs, and then left out.
#
#   scripts/bench-kernel.sh            # STACKS="bare obs prometheus otel hand"
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || { echo "strace is missing: apt-get install strace"; exit 1; }
cargo build --release -q -p obs-service --all-features --example bare
bin="${CARGO_TARGET_DIR:-target}/release/examples/bare"
STACKS=${STACKS:-bare obs prometheus otel hand}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
client() { python3 scripts/lib/keepalive-client.py "$1" "$2"; }
switches() { # pid -> "voluntary involuntary", summed over the threads
  cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}'
}
syscalls() { # stack requests -> total system calls
  local port; port=$(free_port)
  BARE_STACK=$1 DEMO_ADDR="127.0.0.1:$port" strace -f -c -o "$work/strace" \
    taskset -c 0 "$bin" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  client "$port" "$2"
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  awk '/ total$/ {print $4}' "$work/strace"
}
ctx() { # stack requests -> "voluntary involuntary" during the requests
  local port; port=$(free_port)
  BARE_STACK=$1 DEMO_ADDR="127.0.0.1:$port" taskset -c 0 "$bin" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  local before after
  before=$(switches "$pid")
  client "$port" "$2"
  after=$(switches "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$before $after" | awk '{print $3 - $1, $4 - $2}'
}
printf '%-12s %18s %24s\n' stack syscalls/request 'vol+invol switches/req'
for stack in $STACKS; do
  s_small=$(syscalls "$stack" 2000); s_big=$(syscalls "$stack" 12000)
  read -r v_small n_small < <(ctx "$stack" 2000)
  read -r v_big n_big < <(ctx "$stack" 12000)
  python3 -c "print(f'{\"$stack\":12} {($s_big - $s_small) / 10000:18.2f} {($v_big - $v_small) / 10000:13.3f}+{($n_big - $n_small) / 10000:.3f}')"
done
if perf stat -e context-switches true >/dev/null 2>&1; then
  echo
  echo "perf stat (software events) for 12 000 requests"
  for stack in $STACKS; do
    port=$(free_port)
    BARE_STACK=$stack DEMO_ADDR="127.0.0.1:$port" taskset -c 0 "$bin" >/dev/null 2>&1 &
    pid=$!
    wait_port "$port"
    perf stat -e context-switches,cpu-migrations,task-clock -p "$pid" -o "$work/perf" &
    perf_pid=$!
    client "$port" 12000
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    printf '%s: ' "$stack"
    awk '/context-switches|cpu-migrations|task-clock/ {printf "%s %s  ", $1, $2} END {print ""}' "$work/perf"
  done
fi
