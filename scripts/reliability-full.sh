#!/usr/bin/env bash
# The full reliability suite: the fault tests with many runs (50 device kills, 20 server kills, 100 rounds through
# a faulty network), the hostile-input tests, the security tests, the corpus replay, and a short cargo-fuzz run of
# each target (nightly toolchain, or stable with RUSTC_BOOTSTRAP=1). Prints every `FIGURES` line the tests print and
# keeps them in target/test-out/reliability-figures.txt. Loopback only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${DOORSTEP_TEST_OUT:-$PWD/target/test-out}"
mkdir -p "$out"
figures="$out/reliability-figures.txt"
log="$out/reliability-full.log"
: >"$log"
export DOORSTEP_FAULT_RUNS="${DOORSTEP_FAULT_RUNS:-50}"
fuzz_seconds="${DOORSTEP_FUZZ_SECONDS:-60}"

cargo build -q --workspace --all-targets  # one package alone would rebuild dependencies with other features
export DOORSTEP_E2E_NO_BUILD=1
# The device-kill test takes DOORSTEP_FAULT_RUNS as is; the server-kill test gets 20 (ingest from three devices
# at once, each run a restart); the network test runs 2 rounds per unit.
DOORSTEP_FAULT_RUNS="$DOORSTEP_FAULT_RUNS" cargo test --workspace --test faults_sync a_device_killed \
    -- --nocapture 2>&1 | tee -a "$log"
DOORSTEP_FAULT_RUNS=20 cargo test --workspace --test faults_sync the_server_killed -- --nocapture 2>&1 |
    tee -a "$log"
cargo test --workspace --test faults_sync -- --nocapture sync_through locked 2>&1 | tee -a "$log"
for t in faults_disk_full hostile_http hostile_ingest hostile_decoder security_server; do
    [ -e "tests/tests/$t.rs" ] && cargo test --workspace --test "$t" -- --nocapture 2>&1 | tee -a "$log"
done

if [ "${DOORSTEP_SKIP_FUZZ:-0}" != 1 ]; then
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    toolchain=()
    if rustup toolchain list 2>/dev/null | grep -q nightly; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi
    for target in decode_sync_request decode_sync_response apply_changes; do
        mkdir -p "fuzz/corpus/$target"
        # The committed seeds stay as they are: new inputs go to a scratch corpus in target/.
        scratch="$out/fuzz-corpus/$target"
        mkdir -p "$scratch"
        (cd fuzz && cargo "${toolchain[@]}" fuzz run -O "$target" "$scratch" "corpus/$target" -- \
            -max_total_time="$fuzz_seconds" -rss_limit_mb=4096 2>&1 | tail -n 5) | tee -a "$log"
        echo "FIGURES fuzz $target: seconds=$fuzz_seconds $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)" >>"$log"
    done
fi

grep '^FIGURES' "$log" | tee "$figures"
echo "reliability-full: all passed; figures in $figures"
