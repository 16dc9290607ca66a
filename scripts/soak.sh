#!/usr/bin/env bash
# Soak run: the release demo under mixed traffic at half its measured capacity for
# DURATION, with its Loki and OTLP endpoints (local stand-ins that decode the real wire formats)
# flapping every 30 s between up, refusing connections and answering 500/503. Prints a Markdown
# report: per minute the load, p50/p99, RSS, what the stand-ins received, queue depth, drops by
# reason and failed sends; then RSS first/last/max, drops by reason, whether any drop came while
# the queue had room, and every item accounted for (sent, dropped or lost). What it does in
# detail: sdk/examples/soak.rs.
#
#   DURATION=30m scripts/soak.sh              # the full run (default 30m)
#   DURATION=2m OUT=/tmp/soak.md scripts/soak.sh
#
# Also read: CAPACITY_SECS (10), CONNECTIONS (8), LOAD_FRACTION (0.5), FLAP_SECS (30), DEMO_BIN.
# Progress (one line a minute) goes to stderr, the report to stdout and to OUT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p obs-service --all-features --example demo --example soak
bin="${CARGO_TARGET_DIR:-target}/release/examples/soak"
export DURATION="${DURATION:-30m}"
if [[ -n "${OUT:-}" ]]; then
    "$bin" | tee "$OUT"
else
    exec "$bin"
fi
