#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: installed from Debian's packages when missing, created with initdb in a
# temporary directory, listening only on 127.0.0.1 (and a Unix socket in that directory) on a free port, run by an
# unprivileged user (PostgreSQL refuses to run as root), trusted local logins, one database `doorstep_test`.
#
#   scripts/pg-throwaway.sh run CMD [ARG...]   start a cluster, run CMD with DOORSTEP_TEST_PG set to its URL (and
#                                              DOORSTEP_PG_BIN to the PostgreSQL programs' directory), stop the
#                                              cluster and delete its directory however CMD ends; exit with CMD's
#                                              status
#   scripts/pg-throwaway.sh start              start one and print `DIR URL` (for interactive work)
#   scripts/pg-throwaway.sh stop DIR           stop the cluster started in DIR and delete DIR
set -euo pipefail

# The unprivileged account that runs the server when this script runs as root.
PG_OS_USER="${PG_OS_USER:-doorstep-pg}"
# The database role and database the tests use.
PG_ROLE=doorstep
PG_DB=doorstep_test

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The directory of the newest installed server binaries (`/usr/lib/postgresql/<version>/bin`), empty when none.
pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; fi
}

ensure_postgresql() {
    [ -n "$(pg_bindir)" ] && return 0
    echo "installing PostgreSQL from Debian's packages" >&2
    if declare -F ensure_debian_packages >/dev/null; then
        ensure_debian_packages postgresql
    else
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    [ -n "$(pg_bindir)" ] || { echo "PostgreSQL binaries not found after installing" >&2; return 1; }
}

# Runs a command as the cluster's owner: the unprivileged account when we are root, ourselves otherwise.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_os_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    id "$PG_OS_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# PostgreSQL's shared buffers: its small default for tests; the province benchmark sets a server's share of memory
# (DOORSTEP_PG_SHARED_BUFFERS=1GB, BENCHMARKS.md), as a deployment would (a quarter of RAM is PostgreSQL's advice).
SHARED_BUFFERS="${DOORSTEP_PG_SHARED_BUFFERS:-128MB}"

# Starts a cluster; prints `DIR URL`.
start() {
    ensure_postgresql
    ensure_os_user
    local bin dir port attempt
    bin=$(pg_bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-pg.XXXXXX")
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER" "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U "$PG_ROLE" --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    # A port found free may be taken by the time the server binds it: try a few.
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 -c shared_buffers=$SHARED_BUFFERS" start >/dev/null; then
            as_owner "$bin/createdb" -h "$dir" -p "$port" -U "$PG_ROLE" "$PG_DB"
            echo "$port" >"$dir/port"
            echo "$dir postgres://$PG_ROLE@127.0.0.1:$port/$PG_DB"
            return 0
        fi
        echo "pg_ctl start failed on port $port (attempt $attempt)" >&2
    done
    tail -n 20 "$dir/server.log" >&2 || true
    return 1
}

stop() {
    local dir="$1" bin
    [ -d "$dir/data" ] || return 0
    bin=$(pg_bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        start
        ;;
    stop)
        [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
        stop "$2"
        ;;
    run)
        shift
        [ "$#" -gt 0 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
        read -r PG_DIR DOORSTEP_TEST_PG < <(start)
        [ -n "${DOORSTEP_TEST_PG:-}" ] || { echo "could not start a throwaway PostgreSQL" >&2; exit 1; }
        trap 'stop "$PG_DIR"' EXIT INT TERM
        DOORSTEP_PG_BIN=$(pg_bindir)
        export DOORSTEP_TEST_PG DOORSTEP_PG_BIN
        echo "throwaway PostgreSQL at $DOORSTEP_TEST_PG ($PG_DIR)" >&2
        set +e
        "$@"
        status=$?
        set -e
        exit "$status"
        ;;
    *)
        echo "usage: $0 run CMD [ARG...] | start | stop DIR" >&2
        exit 2
        ;;
esac
