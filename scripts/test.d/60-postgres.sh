#!/usr/bin/env bash
# The PostgreSQL store: starts a throwaway cluster (PostgreSQL installed from Debian's packages when missing, run by
# an unprivileged user on a loopback port, stopped and deleted on exit) and runs against it
#   - the storage contract suite (storage::contract: every case on SQLite and on PostgreSQL, backup and restore,
#     report snapshots, concurrent writers from two connection pools), and
#   - the end-to-end test with two server processes on one database and devices syncing through either,
#   - the HTTP sync suites and the pages again, the same tests as on SQLite (server/tests/{sync_api,blobs,console,web}.rs
#     and the end-to-end tests/tests/{sync,scope_exit,security_server,ffi}.rs): with DOORSTEP_TEST_PG set, every test
#     server gets a fresh schema of its own on the cluster (tests/src/store_choice.rs; the pages' tests copy the demo
#     county into it); tests that only make sense on SQLite skip themselves,
# with DOORSTEP_REQUIRE_PG=1 so that a PostgreSQL test can never pass by skipping, and guards that count what ran.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
out="${DOORSTEP_TEST_OUT:-target/test-out}"
mkdir -p "$out"
log="$out/postgres-tests.log"

command -v python3 >/dev/null || { command -v ensure_debian_packages >/dev/null && ensure_debian_packages python3; }
# The workspace build (a no-op after the test command's): building one package alone would resolve dependency
# features differently and rebuild much of the tree.
cargo build -q --workspace --all-targets

# Run inside the cluster's lifetime. The sync suites' part ends by counting the test servers' schemas, so a run
# whose servers silently used SQLite cannot pass.
inner='
cargo test --workspace --lib storage:: -- --test-threads=2 &&
cargo test --workspace --test postgres_two_servers &&
echo "== sync suites on PostgreSQL ==" &&
start=$(date +%s) &&
cargo test --workspace --test sync_api --test blobs --test console --test web --test sync --test scope_exit --test security_server --test ffi &&
echo "SYNC_SUITES_SECONDS $(( $(date +%s) - start ))" &&
echo "PG_TEST_SCHEMAS $("${DOORSTEP_PG_BIN:+$DOORSTEP_PG_BIN/}psql" "$DOORSTEP_TEST_PG" -Atc \
    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '"'"'doorstep_t_%'"'"'")"'
set +e
DOORSTEP_REQUIRE_PG=1 bash scripts/pg-throwaway.sh run bash -c "$inner" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || exit "$status"

# Guard against an empty run: the PostgreSQL cases must have run and passed.
passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
pg_ok=$(grep -cE '^test .*(postgres_store::|contract::postgres_|two_servers_on_one_database).* \.\.\. ok$' "$log" || true)
echo "PostgreSQL: $passed tests passed, $pg_ok of them on PostgreSQL"
[ "$passed" -ge 20 ] && [ "$pg_ok" -ge 10 ]

# The sync suites: every test listed as passed after the marker, and each server on a schema of its own.
suites_ok=$(sed -n '/^== sync suites on PostgreSQL ==$/,$p' "$log" | grep -cE '^test .* \.\.\. ok$' || true)
schemas=$(sed -n 's/^PG_TEST_SCHEMAS \([0-9]*\)$/\1/p' "$log")
echo "PostgreSQL sync suites: $suites_ok tests passed (SQLite-only ones return early), $schemas test servers'" \
    "schemas, $(sed -n 's/^SYNC_SUITES_SECONDS //p' "$log") s"
[ "$suites_ok" -ge 30 ] && [ "${schemas:-0}" -ge 25 ]
