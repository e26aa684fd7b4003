#!/usr/bin/env bash
# The benchmark program at CI size (`doorstep-bench all --quick`), so that it never rots: every scenario must run to
# the end and print its table (exit 0). Its figures are not asserted here and BENCHMARKS.md is not rewritten; the
# full run is `cargo run --release -p doorstep-bench -- all` (see BENCHMARKS.md). The debug build of the workspace
# is used, as the other steps do: a release build of the whole tree would take longer than the run itself.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
out="${DOORSTEP_TEST_OUT:-$PWD/target/test-out}"
mkdir -p "$out"
log="$out/bench-quick.log"

cargo build -q --workspace --all-targets  # one package alone would rebuild dependencies with other features
DOORSTEP_BENCH_NO_BUILD=1 target/debug/doorstep-bench all --quick >"$log" 2>&1 || {
    tail -n 40 "$log"
    echo "FAILED: doorstep-bench all --quick (full output in $log)"
    exit 1
}
# The table: a header and one row per figure.
sed -n '/^scenario /,$p' "$log"
grep -q '^scenario ' "$log" || { echo "FAILED: no table in the benchmark's output"; exit 1; }
