#!/usr/bin/env bash
# Runs every test of the workspace. Tests that need Prometheus tools, PostgreSQL or Redis use the
# real programs: `bash .ci/run deps` installs and starts them. With CI=true a missing tool fails
# its test; on a developer machine such a test skips with a loud message.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v promtool >/dev/null; then
  bash .ci/run deps
fi
cargo test --workspace --all-features "$@"
