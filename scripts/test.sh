#!/usr/bin/env bash
# Runs every test of the workspace. Tests that need Prometheus tools, PostgreSQL or Redis use the
# real programs: `bash .ci/run deps` installs and starts them. With CI=true a missing tool fails
# its test; on a developer machine such a test skips with a loud message.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v promtool >/dev/null; then
  bash .ci/run deps
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-features "$@" 2>&1 | tee "$log" || status=$?
# cargo prints one summary per test binary, the last often a crate's empty doc-test run; close
# with the workspace total.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
