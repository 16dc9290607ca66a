#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ one after another, each for SECONDS_PER_TARGET (default 60),
# and prints per target: time, executions, corpus size and findings (files libFuzzer left in
# fuzz/artifacts/<target>/). FUZZING.md has what each target checks and the last results.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Installs cargo-fuzz (crates.io) when missing. cargo-fuzz needs nightly features
# (-Zsanitizer): on a stable toolchain RUSTC_BOOTSTRAP=1 allows them. The corpus each run grows
# lives in fuzz/target/corpus/<target> (not committed); fuzz/corpus/<target> holds the few
# committed seeds. Exits 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1

cd fuzz
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O

# Seeds beyond fuzz/corpus: the configurations the generator's tests use.
extra_seeds() {
  case $1 in
    obs_toml) echo ../stack-gen/tests/fixtures ;;
  esac
}

results=()
found=0
for target in "${targets[@]}"; do
  work=target/corpus/$target
  artifacts=artifacts/$target
  mkdir -p "$work" "$artifacts" "corpus/$target"
  before=$(find "$artifacts" -type f | wc -l)
  log=target/fuzz-$target.log
  echo "== $target: ${seconds}s" >&2
  start=$(date +%s)
  # -print_final_stats gives the execution count; a crash stops the run, with its input saved.
  # shellcheck disable=SC2046
  cargo fuzz run -O "$target" "$work" "corpus/$target" $(extra_seeds "$target") -- \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || true
  elapsed=$(( $(date +%s) - start ))
  execs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  after=$(find "$artifacts" -type f | wc -l)
  findings=$(( after - before ))
  [ "$findings" -eq 0 ] || found=1
  results+=("$(printf '%-14s %6ss %14s %8s %9s' "$target" "$elapsed" "${execs:-?}" "$corpus" "$findings")")
  if [ "$findings" -ne 0 ]; then
    echo "   $target: $findings finding(s) in fuzz/$artifacts (log: fuzz/$log)" >&2
  fi
done

printf '%-14s %7s %14s %8s %9s\n' target time executions corpus findings
printf '%s\n' "${results[@]}"
exit "$found"
