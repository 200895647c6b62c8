#!/usr/bin/env bash
# Runs SegHub on this machine: a local PostgreSQL whose data lives in .seghub/postgres (created on
# the first run, kept between runs), and segserver (release build) with its files in .seghub/data
# and a JWT secret generated once into .seghub/jwt-secret. Prints the URL; Ctrl-C stops both.
# With SEG_INFERENCE=local it also starts the reference inference server (scripts/dev/inference.sh, state in
# .seghub/inference) with the bundled model, and segserver offers it (models/registry.json, docs/models.md).
# Usage: scripts/run.sh            (env: SEG_HTTP_PORT, default 8080; SEGHUB_DB_PORT, default 55400;
#                                   SEG_INFERENCE=local; SEGHUB_INFERENCE_PORT, default 8085;
#                                   any other SEG_* setting is passed to segserver, see .env.example)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl

root="$(pwd)/.seghub"
mkdir -p "$root/data"
chmod 700 "$root"

if [ "$(id -u)" -eq 0 ]; then
    # The database runs as the `postgres` user, which must be able to reach .seghub/postgres.
    if ! runuser -u postgres -- test -x "$(pwd)"; then
        echo "run.sh: the postgres user cannot enter $(pwd); move the checkout (e.g. under /srv or /opt)," >&2
        echo "        or allow it: chmod o+x on $(pwd) and each parent directory." >&2
        exit 1
    fi
    chmod 711 "$root"
fi

seg_step "building segserver (release; the first build takes several minutes)"
seg_build -c release -- segserver
bin="$SEG_BIN"

seg_step "starting PostgreSQL (data in .seghub/postgres)"
db_port="${SEGHUB_DB_PORT:-55400}"
admin_url="$(bash scripts/dev/postgres.sh start "$root/postgres" "$db_port" | tail -n 1)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    bash scripts/dev/postgres.sh stop "$root/postgres" >/dev/null 2>&1 || true
    if [ "${SEG_INFERENCE:-}" = "local" ]; then bash scripts/dev/inference.sh stop "$root/inference" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'seghub'" | grep -q 1; then
    psql "$admin_url" -qc "CREATE DATABASE seghub"
fi

if [ ! -s "$root/jwt-secret" ]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$root/jwt-secret")
fi

port="${SEG_HTTP_PORT:-8080}"
export SEG_DATABASE_URL="postgres://postgres@127.0.0.1:$db_port/seghub?sslmode=disable"
export SEG_DATA_DIR="$root/data"
SEG_JWT_SECRET="$(cat "$root/jwt-secret")"
export SEG_JWT_SECRET
export SEG_HTTP_PORT="$port"
export SEG_HTTP_HOST="${SEG_HTTP_HOST:-127.0.0.1}"

case "${SEG_INFERENCE:-}" in
    "") ;;
    local)
        inference_port="${SEGHUB_INFERENCE_PORT:-8085}"
        seg_step "starting the inference server with the bundled model (log in .seghub/inference/server.log)"
        inference_url="$(bash scripts/dev/inference.sh start "$root/inference" "$inference_port" | tail -n 1)"
        # The bundled registry names the default port; another one gets a copy pointing at it.
        registry="$(pwd)/models/registry.json"
        if [ "$inference_url" != "http://127.0.0.1:8085" ]; then
            sed "s#http://127.0.0.1:8085#$inference_url#" "$registry" >"$root/models.json"
            registry="$root/models.json"
        fi
        export SEG_MODELS_FILE="${SEG_MODELS_FILE:-$registry}"
        ;;
    *)
        echo "run.sh: SEG_INFERENCE must be 'local' (or unset), not '$SEG_INFERENCE'" >&2
        exit 64
        ;;
esac

seg_step "starting segserver (log in .seghub/segserver.log)"
"$bin/segserver" >>"$root/segserver.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        tail -n 20 "$root/segserver.log" >&2
        echo "run.sh: segserver stopped; see .seghub/segserver.log" >&2
        exit 1
    fi
    sleep 0.2
done
echo
echo "SegHub is running: http://127.0.0.1:$port  (API under /api/v1, health at /api/health; Ctrl-C stops it)"
wait "$server_pid"
