#!/usr/bin/env bash
# Runs the faulty-network sync test (tests/tests/faults_sync.rs, `sync_through`) with N fresh random seeds at the
# full run's size (DOORSTEP_FAULT_RUNS, default 50: 100 rounds of three devices through the chaos proxy), one after
# the other, and prints each seed with its FIGURES line. Stops at the first failing seed and prints it, so that it
# can be replayed with DOORSTEP_FAULT_SEED. Usage: bash scripts/fault-seeds.sh [N]. Loopback only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:-20}"
out="${DOORSTEP_TEST_OUT:-$PWD/target/test-out}"
mkdir -p "$out"
export DOORSTEP_FAULT_RUNS="${DOORSTEP_FAULT_RUNS:-50}"
cargo build -q --workspace --all-targets  # one package alone would rebuild dependencies with other features
export DOORSTEP_E2E_NO_BUILD=1
# The test binary is built once and run N times (cargo would check the sources again before each run).
bin=$(cargo test -q --workspace --test faults_sync --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "faults_sync" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "faults_sync test binary not found" >&2; exit 1; }
passed=0
for i in $(seq 1 "$n"); do
    seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    log="$out/fault-seed-$i.log"
    if DOORSTEP_FAULT_SEED="$seed" "$bin" sync_through --nocapture >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "seed $i/$n DOORSTEP_FAULT_SEED=$seed ok: $(grep '^FIGURES' "$log" | head -1)"
    else
        echo "seed $i/$n DOORSTEP_FAULT_SEED=$seed FAILED (log: $log)"
        grep -E "panicked|assert" -A4 "$log" | head -20
        echo "fault seeds: $passed passed, 1 failed"
        exit 1
    fi
done
echo "fault seeds: $passed passed, 0 failed"
