#!/usr/bin/env bash
# Load benchmark: every stack in one run, over several rounds, wrk on loopback. Stacks (all
# serve the same routes of sdk/examples/bare.rs, except the demo):
#   bare        plain axum
#   obs         obs-service's init + obs.layer(): request IDs, RED metrics, span, JSON access line
#               to stdout (a file, like the hand-assembled stack's lines)
#   prometheus  axum-prometheus' metrics layer alone
#   otel        opentelemetry-instrumentation-tower, metrics only, into an SDK meter provider
#   hand        tower-http request-id + TraceLayer, axum-prometheus, tracing-subscriber JSON
#   demo        the obs demo with all its layers (2 JSON lines per request, to a file)
# The server is pinned to core 0 and wrk to core 1. Each round runs the stacks in a different
# order (rotated, and reversed every other round), so a slow phase of the machine does not always
# hit the same stack. Reported per stack: req/s, CPU time per request (the server's user +
# system time from /proc over the measured window), voluntary + involuntary context switches
# per request (all the server's threads), each round's ratios to bare axum and to
# the peers, and the medians of those within-round ratios. A round is flagged "disturbed" when
# processes other than the server and wrk used more than DISTURBED (default 10 %) of a core
# during one of its measurements: compare only quiet rounds. Then, with MEMORY=1, RSS of the
# SDK layer across REQUESTS requests without and with a scrape every 15 s.
#
#   scripts/bench-load.sh        # ROUNDS=3 DURATION=10 CONNS=32 STACKS="bare obs prometheus otel hand"
#   STACKS="bare obs demo" ROUNDS=5 scripts/bench-load.sh
#   MEMORY=1 REQUESTS=5000000 scripts/bench-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
cargo build --release -q -p obs-service --all-features --example demo --example bare
export BENCH_BIN="${CARGO_TARGET_DIR:-target}/release/examples"
exec python3 - "$@" <<'PY'
import os, re, socket, statistics, subprocess, sys, tempfile, time, urllib.request

BIN = os.environ["BENCH_BIN"]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "32"))
STACKS = os.environ.get("STACKS", "bare obs prometheus otel hand").split()
DISTURBED = float(os.environ.get("DISTURBED", "0.10"))
MEMORY = os.environ.get("MEMORY") == "1"
REQUESTS = int(os.environ.get("REQUESTS", "5000000"))
TICK = os.sysconf("SC_CLK_TCK")
PEERS = [s for s in ("prometheus", "otel", "hand") if s in STACKS]
LABEL = {
    "bare": "bare axum", "obs": "obs-service layer", "prometheus": "axum-prometheus",
    "otel": "OpenTelemetry tower (metrics)", "hand": "hand-assembled", "demo": "obs demo",
}
work = tempfile.mkdtemp()

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def cpu_of(pid):  # user + system seconds of a process and all its threads
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK

def switches(pid):  # voluntary and involuntary context switches, summed over every thread
    vol = invol = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        status = open(f"/proc/{pid}/task/{task}/status").read()
        vol += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        invol += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return vol, invol

def busy():  # seconds of busy CPU, all cores
    vals = list(map(int, open("/proc/stat").readline().split()[1:]))
    idle = vals[3] + vals[4]
    return (sum(vals[:8]) - idle) / TICK

def start(stack):
    port = free_port()
    env = dict(os.environ, DEMO_ADDR=f"127.0.0.1:{port}")
    if stack == "demo":
        # The demo as deployed: its lines to stdout and a log file.
        env["OBS_LOG_FILE"] = os.path.join(work, "demo.log")
        cmd = [f"{BIN}/demo"]
    else:
        cmd = [f"{BIN}/bare"]; env["BARE_STACK"] = stack
    log = open(os.path.join(work, f"{stack}.out"), "wb")
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); break
        except OSError:
            time.sleep(0.05)
    else:
        raise SystemExit(f"{stack} did not listen on {port}")
    return proc, port

def wrk(port, seconds, path="/users/42"):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return requests, rps

def measure(stack):
    proc, port = start(stack)
    try:
        wrk(port, 2)  # warm-up: connections, allocator, caches
        cpu0, busy0, t0, sw0 = cpu_of(proc.pid), busy(), time.time(), switches(proc.pid)
        # wrk's own CPU: a child of ours, read after it exits.
        ru0 = os.times()
        requests, rps = wrk(port, DURATION)
        ru1 = os.times()
        cpu1, busy1, t1, sw1 = cpu_of(proc.pid), busy(), time.time(), switches(proc.pid)
    finally:
        proc.terminate(); proc.wait()
    server = cpu1 - cpu0
    client = (ru1.children_user - ru0.children_user) + (ru1.children_system - ru0.children_system)
    other = max(0.0, (busy1 - busy0) - server - client) / (t1 - t0)
    return {"rps": rps, "cpu_us": server / requests * 1e6, "other": other,
            "vol": (sw1[0] - sw0[0]) / requests, "invol": (sw1[1] - sw0[1]) / requests}

rounds = []
for r in range(ROUNDS):
    order = STACKS[r % len(STACKS):] + STACKS[:r % len(STACKS)]
    if r % 2:
        order.reverse()
    result = {}
    for stack in order:
        result[stack] = measure(stack)
    disturbed = max(m["other"] for m in result.values()) > DISTURBED
    rounds.append((result, disturbed))
    print(f"round {r + 1} (order {' '.join(order)}){' DISTURBED' if disturbed else ''}")
    for stack in STACKS:
        m = result[stack]
        ratio = f"{m['rps'] / result['bare']['rps']:.2f}" if "bare" in result else "-"
        print(f"  {LABEL.get(stack, stack):32} {m['rps']:10.0f} req/s  {m['cpu_us']:6.1f} µs CPU/request"
              f"  {ratio} of bare  {m['vol']:.3f}+{m['invol']:.3f} switches/request"
              f"  (other processes: {m['other'] * 100:.0f} % of a core)")
    sys.stdout.flush()

quiet = [res for res, disturbed in rounds if not disturbed]
use = quiet or [res for res, _ in rounds]
print(f"\nmedians of within-round ratios over {len(use)} {'quiet' if quiet else 'disturbed (no quiet round)'} round(s)")
if "bare" in STACKS:
    print(f"{'stack':34} {'throughput/bare':>16} {'CPU per request/bare':>22}")
    for stack in STACKS:
        tp = statistics.median(res[stack]["rps"] / res["bare"]["rps"] for res in use)
        cpu = statistics.median(res[stack]["cpu_us"] / res["bare"]["cpu_us"] for res in use)
        print(f"{LABEL.get(stack, stack):34} {tp:16.2f} {cpu:22.2f}")
if "obs" in STACKS and PEERS:
    print(f"\n{'obs-service layer vs':34} {'throughput':>16} {'CPU per request':>22}")
    for peer in PEERS:
        tp = statistics.median(res["obs"]["rps"] / res[peer]["rps"] for res in use)
        cpu = statistics.median(res["obs"]["cpu_us"] / res[peer]["cpu_us"] for res in use)
        print(f"{LABEL[peer]:34} {tp:16.2f} {cpu:22.2f}")

if MEMORY:
    for scrape in (False, True):
        proc, port = start("obs")
        rss = lambda: int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{proc.pid}/status").read()).group(1))
        print(f"\nRSS of the obs-service layer, {'a scrape every 15 s' if scrape else 'no scrape'}")
        print("requests  rss_kib")
        sent, last_scrape = 0, time.time()
        print(f"0 {rss()}")
        while sent < REQUESTS:
            n, _ = wrk(port, 2, f"/users/{sent % 1000}")
            sent += n
            if scrape and time.time() - last_scrape >= 15:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
                last_scrape = time.time()
            print(f"{sent} {rss()}")
            sys.stdout.flush()
        proc.terminate(); proc.wait()
PY
