#!/usr/bin/env bash
# Shared helpers for SegHub's scripts: step banners and idempotent package installation.

seg_step() { printf '\n==> %s\n' "$*" >&2; }

# Installs the named Debian packages that are not installed yet (root or sudo needed only then).
seg_apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    seg_step "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The Python environment for reference fixtures and peer comparisons, outside the checkout.
SEG_VENV="${SEGHUB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/seghub/venv}"

# Creates the venv if needed and installs the named PyPI packages that are missing.
seg_venv() {
    seg_apt_install python3-venv
    if [ ! -x "$SEG_VENV/bin/python" ]; then
        seg_step "creating Python venv at $SEG_VENV"
        python3 -m venv "$SEG_VENV"
    fi
    local missing=()
    for spec in "$@"; do
        local module="${spec%%=*}"
        "$SEG_VENV/bin/python" -m pip show -q "$module" >/dev/null 2>&1 || missing+=("$spec")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        seg_step "pip install ${missing[*]}"
        "$SEG_VENV/bin/python" -m pip install -q "${missing[@]}"
    fi
}

# seg_free_port: a TCP port that is free on 127.0.0.1 right now.
seg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# seg_start_database DIR: a throwaway cluster (scripts/postgres.sh) in DIR on a free port, with an
# empty `seghub` database. Sets SEG_DB_PORT and SEG_DB_URL (the URL segserver and segctl take).
seg_start_database() {
    SEG_DB_PORT="$(seg_free_port)"
    local admin_url
    admin_url="$(bash scripts/postgres.sh start "$1" "$SEG_DB_PORT" | tail -n 1)"
    psql "$admin_url" -qc "CREATE DATABASE seghub"
    SEG_DB_URL="postgres://postgres@127.0.0.1:$SEG_DB_PORT/seghub?sslmode=disable"
}

# seg_wait_http URL STATUS SECONDS [PID LOG]: waits until URL answers STATUS. Fails after SECONDS,
# or at once when process PID has died (then LOG, its output, is printed).
seg_wait_http() {
    local deadline=$((SECONDS + $3)) code=""
    while [ $SECONDS -lt "$deadline" ]; do
        code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" || true)"
        [ "$code" = "$2" ] && return 0
        if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
            [ -n "${5:-}" ] && cat "$5" >&2
            echo "$1: the server died" >&2
            return 1
        fi
        sleep 0.3
    done
    echo "$1 did not answer $2 within $3 s (last: ${code:-none})" >&2
    return 1
}
