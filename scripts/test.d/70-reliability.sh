#!/usr/bin/env bash
# Reliability and security, fast versions (the full runs: scripts/reliability-full.sh): the device SIGKILLed mid-sync
# (5 runs), the server SIGKILLed mid-ingest (3 runs), sync through a faulty network (10 rounds), a locked server
# database; hostile input over every HTTP route and raw broken HTTP; the fuzz targets' bodies over the committed
# corpus, regressions and mutations; the security tests (tokens, revocation, login slowing, headers, CSRF, scope
# matrix, ID masking, audit). Real server binary, loopback only. Each test prints a FIGURES line; the whole output
# is in $DOORSTEP_TEST_OUT/reliability.log.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
out="${DOORSTEP_TEST_OUT:-$PWD/target/test-out}"
mkdir -p "$out"
log="$out/reliability.log"
: >"$log"

cargo build -q -p doorstep-server -p doorstep-cli
export DOORSTEP_E2E_NO_BUILD=1
for t in faults_sync hostile_http hostile_decoder security_server; do
    echo "--- $t"
    if ! cargo test -q -p doorstep-e2e --test "$t" -- --nocapture >>"$log" 2>&1; then
        grep -E '^(test .*FAILED|thread .*panicked)' -A 6 "$log" | tail -n 60
        echo "FAILED: $t (full output in $log)"
        exit 1
    fi
    grep -E '^FIGURES' "$log" | tail -n 8 || true
done
grep -E '^test result' "$log"
