#!/usr/bin/env bash
# The PostgreSQL store: starts a throwaway cluster (PostgreSQL installed from Debian's packages when missing, run by
# an unprivileged user on a loopback port, stopped and deleted on exit) and runs the storage contract suite against
# both stores, with DOORSTEP_REQUIRE_PG=1 so that a PostgreSQL test can never pass by skipping.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
out="${DOORSTEP_TEST_OUT:-target/test-out}"
mkdir -p "$out"
log="$out/postgres-tests.log"

command -v python3 >/dev/null || { command -v ensure_debian_packages >/dev/null && ensure_debian_packages python3; }
cargo build -p doorstep-server --tests

# The contract suite lives in storage::postgres (its cases run against SQLite and PostgreSQL alike).
DOORSTEP_REQUIRE_PG=1 bash scripts/pg-throwaway.sh run \
    cargo test -p doorstep-server storage::postgres -- --test-threads=2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"

# Guard against an empty run: the PostgreSQL cases must have run and passed.
passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | head -n 1)
pg_ok=$(grep -cE '^test .*(postgres_store::|contract::postgres_).* \.\.\. ok$' "$log" || true)
echo "storage contract: ${passed:-0} tests passed, $pg_ok of them on PostgreSQL"
[ "${passed:-0}" -ge 10 ] && [ "$pg_ok" -ge 5 ]
