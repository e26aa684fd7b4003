#!/usr/bin/env bash
# Makes the format 1 fixture of tests/tests/format_migration.rs with the binaries of a build from before document
# format 2 (commit a1e0519): a server database and a helper's phone whose documents hold Rust variant names, uint
# numbers and millisecond change times, a conflict on a text field and on a code field, field history, and one
# edit still waiting on the phone. Usage: make.sh OLD_TARGET_DIR (holding doorstep-server and doorstep).
set -euo pipefail
old="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
server() { "$old/doorstep-server" --data "$work/server" "$@"; }
dev() { local home="$1"; shift; LC_ALL=en_US.UTF-8 "$old/doorstep" --home "$work/$home" "$@"; }

mkdir -p "$work/server"
for u in admin:admin helper1:helper; do server user add "${u%%:*}" --role "${u#*:}" --password "pw-${u%%:*}"; done
server user add doctor1 --role doctor --team 石门村家医团队 --password pw-doctor1
server place add-township 石门镇
server place add-village 石门村 --township 石门镇
server assign team 石门村家医团队 石门村
server serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/serve.out")"

dev phone init --device phone
echo pw-helper1 | dev phone login --server "$url" --user helper1
dev doctor init --device doctor
echo pw-doctor1 | dev doctor login --server "$url" --user doctor1
h="$(dev phone household add --number 4306210010001 --township 石门镇 --village 石门村 --head 张建国 \
    --status registered_poor --helper helper1)"
head="$(dev phone member add "$h" --name 张建国 --sex male --birth 1962-03-15 --relation head)"
dev phone member add "$h" --name 李秀英 --sex female --birth 1965-08-02 --relation spouse > /dev/null
dev phone visit add --household "$h" --note 家中情况稳定 > /dev/null
dev phone sync > /dev/null
dev doctor sync > /dev/null

# Concurrent edits of the same fields: the phone number (text) and the head's sex (a code).
dev phone household edit "$h" --phone 13800000001 > /dev/null
dev doctor household edit "$h" --phone 13800000002 > /dev/null
set_sex() {
    dev "$1" household show "$h" --json | python3 -c "
import json, sys
h = json.load(sys.stdin)['household']
h['members']['$head']['sex'] = '$2'
print(json.dumps(h))" | dev "$1" household edit "$h" --json - > /dev/null
}
set_sex phone unknown
set_sex doctor female
dev phone sync > /dev/null
dev doctor sync > /dev/null
dev phone sync > /dev/null

# An edit the phone has not sent yet: it reaches a server that has already moved the document.
dev phone household edit "$h" --status lifted --event exited --on 2026-10-01 --reason 产业增收 > /dev/null

kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
# Fold SQLite's write-ahead log into the file, which alone is kept.
python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" \
    "$work/server/doorstep.db"
test ! -s "$work/server/doorstep.db-wal"
rm -rf "$here/server" "$here/phone"
mkdir -p "$here/server"
cp "$work/server/doorstep.db" "$here/server/"
cp -r "$work/phone" "$here/phone"
echo "$h" > "$here/household"
echo "$head" > "$here/head"
ls -la "$here/server" "$here/phone"
