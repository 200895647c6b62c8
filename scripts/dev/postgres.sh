#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, in a directory of its own. Debian's default cluster is
# never touched.
# Usage: scripts/dev/postgres.sh start|stop|status DIR [PORT]
#   start   initdb into DIR/data (--data-checksums, superuser `postgres`, trust auth on the unix
#           socket and loopback only) unless it exists, then start the server on 127.0.0.1:PORT
#           (default: the first free port from 54329 up), unix socket in DIR, fsync on,
#           max_connections 500 (SEGHUB_PG_MAX_CONNECTIONS: parallel tests each open a pool and an event listener), logging to
#           DIR/server.log. Waits until it accepts connections.
#   stop    fast shutdown; does nothing if the server is not running or DIR does not exist.
#   status  exit 0 if running, 3 if not.
# start and status print the connection URL (postgres://postgres@127.0.0.1:PORT/postgres) as the
# last line of standard output, with nothing after it on either stream; progress goes to stderr.
# As root the server runs as the `postgres` user: DIR (which may already exist, empty, e.g. from
# `mktemp -d`) is given to it, and its parents must be traversable by it. Otherwise it runs as the
# caller.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

seg_service_cli postgres "$@"
# pg_ctl passes its -o options through a shell: keep DIR free of whitespace and quotes.
[[ "$dir" =~ [[:space:]\'\"\\] ]] && die "DIR must not contain whitespace, quotes or backslashes: '$dir'"

# The server's user: `postgres` when we are root (initdb refuses root), else ourselves.
as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# PostgreSQL's bindir: pg_config's, else the newest /usr/lib/postgresql/*/bin.
pg_bindir() {
    local bindir=""
    if command -v pg_config >/dev/null 2>&1; then
        bindir="$(pg_config --bindir 2>/dev/null || true)"
    fi
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        bindir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    fi
    [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] && echo "$bindir"
}

pgbin="$(pg_bindir || true)"
if [ -z "$pgbin" ]; then
    if [ "$command" != "start" ]; then
        # Nothing can be running without PostgreSQL installed.
        [ "$command" = "status" ] && exit 3
        exit 0
    fi
    seg_apt_install postgresql
    pgbin="$(pg_bindir)" || die "PostgreSQL installed but no initdb/pg_ctl found"
fi

url_for() { printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$1"; }

# True if the server in DIR/data is running (pg_ctl status: 0 running, 3 not, 4 no data dir).
running() {
    [ -f "$data/PG_VERSION" ] && as_server "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# The port of the running server, from line 4 of postmaster.pid.
running_port() { sed -n 4p "$data/postmaster.pid"; }

free_port_from() {
    local p="$1"
    while [ "$p" -lt 65535 ]; do
        seg_port_free "$p" && echo "$p" && return 0
        p=$((p + 1))
    done
    die "no free TCP port from $1 up"
}

seg_service_dir
data="$dir/data"

case "$command" in
    status)
        running || exit 3
        url_for "$(running_port)"
        exit 0
        ;;
    stop)
        if running; then
            log "stopping the server in $data"
            as_server "$pgbin/pg_ctl" -D "$data" -m fast -w stop >&2
        fi
        exit 0
        ;;
esac

# start
if running; then
    log "already running in $data"
    url_for "$(running_port)"
    exit 0
fi

# The unix socket path (DIR/.s.PGSQL.PORT) must fit in sun_path (107 bytes plus NUL).
[ ${#dir} -le 90 ] || die "DIR path too long for a unix socket (${#dir} > 90 bytes): $dir"

if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    chmod 0700 "$dir"
    as_server test -w "$dir" -a -x "$dir" ||
        die "user postgres cannot reach $dir: make its parents traversable (e.g. use mktemp -d under /tmp)"
fi

if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb into $data (initdb output in $dir/initdb.log)"
    if ! as_server "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        --data-checksums >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    # Trust on the unix socket and loopback only; nothing else may connect.
    as_server tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# Throwaway test cluster (scripts/dev/postgres.sh): trust on the unix socket and loopback only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
fi

# An explicit PORT is used as given; otherwise the first free one from 54329 up, trying the next
# few if another process grabs it between the probe and the server's bind.
tries=1
[ -z "$port" ] && tries=5 && port="$(free_port_from 54329)"
while :; do
    log "starting the server in $data on 127.0.0.1:$port (log in $dir/server.log)"
    if as_server "$pgbin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=${SEGHUB_PG_MAX_CONNECTIONS:-500}" start >&2; then
        break
    fi
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || {
        tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
        die "the server did not start (see $dir/server.log)"
    }
    port="$(free_port_from $((port + 1)))"
done

# pg_ctl -w waits for the postmaster to be ready; check that TCP connections are accepted too.
for _ in $(seq 1 50); do
    "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && break
    sleep 0.1
done
"$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres ||
    die "the server started but does not accept connections on 127.0.0.1:$port"

url_for "$port"
