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

cargo build -q --workspace --all-targets  # one package alone would rebuild dependencies with other features
export DOORSTEP_E2E_NO_BUILD=1
for t in faults_sync faults_disk_full hostile_http hostile_ingest hostile_decoder security_server; do
    echo "--- $t"
    one="$out/reliability-$t.log"
    if ! cargo test -q --workspace --test "$t" -- --nocapture >"$one" 2>&1; then
        cat "$one" >>"$log"
        grep -E '^(test .*FAILED|thread .*panicked)' -A 6 "$one" | tail -n 60
        echo "FAILED: $t (full output in $one)"
        exit 1
    fi
    cat "$one" >>"$log"
    grep -E '^(FIGURES|test result)' "$one" || true
done

# schemathesis (PyPI) against the OpenAPI description the server serves, on a throwaway server on loopback: never a
# 5xx, status codes, content types and bodies as described. Two checks are left out because the sync body is an
# opaque binary envelope a schema cannot describe: `positive_data_acceptance` (random bytes are "schema-valid" but
# not a sync message) and `missing_required_header` (a body without the envelope's magic is refused as 400 before
# the token is looked at; nothing is decoded before authentication).
echo "--- schemathesis"
if command -v ensure_pip_packages >/dev/null; then
    ensure_pip_packages schemathesis=schemathesis
elif ! python3 -c "import schemathesis" 2>/dev/null; then
    python3 -m pip install --quiet schemathesis 2>/dev/null || python3 -m pip install --quiet --break-system-packages schemathesis
fi
data="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$data"
}
trap cleanup EXIT
target/debug/doorstep-server user add helper1 --role helper --password pw-helper1-st --data "$data" >/dev/null
target/debug/doorstep-server serve --data "$data" --listen 127.0.0.1:0 >"$data/server.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$data/server.log" | head -n 1 || true)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start"; exit 1; }
token=$(python3 -c 'import json,sys,urllib.request as u
r=u.urlopen(u.Request(sys.argv[1]+"/api/v1/login",json.dumps({"user":"helper1","password":"pw-helper1-st","device_name":"st"}).encode(),{"content-type":"application/json"}))
print(json.load(r)["token"])' "$url")
# Run from the scratch directory: schemathesis keeps its example database in the working directory.
(cd "$data" && python3 -m schemathesis.cli run "$url/api/v1/openapi.json" -H "Authorization: Bearer $token" \
    --max-examples "${DOORSTEP_SCHEMATHESIS_EXAMPLES:-100}" --seed 1 --workers 2 --request-timeout 30 \
    --exclude-checks positive_data_acceptance,missing_required_header) >"$out/schemathesis.log" 2>&1 ||
    { tail -n 60 "$out/schemathesis.log"; echo "FAILED: schemathesis (full output in $out/schemathesis.log)"; exit 1; }
tail -n 4 "$out/schemathesis.log"
