#!/usr/bin/env bash
# Shared helpers for SegHub's scripts: step banners, idempotent package installation, the Python venv,
# building Swift products (failing when the build fails), and the live-server harness: a temporary
# workspace, a throwaway PostgreSQL, segserver on a free port, and teardown on exit.

# The scripts folder, wherever the caller stands.
SEG_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

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

# seg_free_ports N: the first of N consecutive free TCP ports on 127.0.0.1 (for servers that listen on a run of
# ports, like scripts/dev/smtp.sh).
seg_free_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(500):
    first = random.randint(20000, 60000)
    sockets = [socket.socket() for _ in range(count)]
    try:
        for offset, s in enumerate(sockets):
            s.bind(("127.0.0.1", first + offset))
        print(first)
        break
    except OSError:
        pass
    finally:
        for s in sockets:
            s.close()
else:
    sys.exit("no run of free ports found")
PY
}

# seg_start_smtp DIR: a real SMTP server (scripts/dev/smtp.sh: aiosmtpd, STARTTLS, AUTH) with its state and inbox
# in DIR, on free ports. Sets SEG_SMTP_DIR and SEG_SMTP_URL (STARTTLS required, AUTH with the server's user, its
# certificate as CA: what segserver takes). seg_cleanup stops it.
seg_start_smtp() {
    SEG_SMTP_DIR="$1"
    local port password
    port="$(seg_free_ports 3)"
    bash "$SEG_SCRIPTS/dev/smtp.sh" start "$SEG_SMTP_DIR" "$port" >/dev/null
    password="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["password"])' "$SEG_SMTP_DIR/server.json")"
    SEG_SMTP_URL="smtp://seghub:$password@localhost:$port?starttls=required&ca_file=$SEG_SMTP_DIR/cert.pem"
}

# seg_await_job_held IMAGE WORKER_PID SECONDS: waits until the job of IMAGE runs in process WORKER_PID (its `worker`
# column names the pid; SEG_DB_URL); fails after SECONDS. For tests that kill a worker while it holds a job.
seg_await_job_held() {
    local deadline=$((SECONDS + $3))
    until [ "$(psql "$SEG_DB_URL" -tAc "SELECT count(*) FROM jobs WHERE image_id = '$1' AND state = 'running' AND worker LIKE '%:$2/%'")" = 1 ]; do
        [ $SECONDS -lt $deadline ] || { echo "the worker $2 never started the job of image $1" >&2; return 1; }
        sleep 0.05
    done
}

# seg_expect_handover IMAGE SECOND_PID SECONDS: after the worker holding IMAGE's job was killed and another started,
# waits until IMAGE is segmented, then checks that it has one result version and that its job succeeded on attempt 2
# in process SECOND_PID; prints the job row. Fails (with the job's row) otherwise or after SECONDS.
seg_expect_handover() {
    local deadline=$((SECONDS + $3)) versions job
    until [ "$(psql "$SEG_DB_URL" -tAc "SELECT status FROM images WHERE id = '$1'")" = segmented ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "the job of image $1 was not finished after the lease:" >&2
            psql "$SEG_DB_URL" -tAc "SELECT state, attempt, worker, last_error FROM jobs WHERE image_id = '$1'" >&2
            return 1
        fi
        sleep 0.5
    done
    versions="$(psql "$SEG_DB_URL" -tAc "SELECT count(*) FROM segmentations WHERE image_id = '$1'")"
    job="$(psql "$SEG_DB_URL" -tAc "SELECT state || ' attempt ' || attempt || ' by ' || worker FROM jobs WHERE image_id = '$1'")"
    [ "$versions" = 1 ] || { echo "expected one result version of image $1, found $versions" >&2; return 1; }
    case "$job" in
        "succeeded attempt 2 by "*":$2/"*) echo "$job" ;;
        *) echo "unexpected job row of image $1: $job" >&2; return 1 ;;
    esac
}

# seg_start_database DIR: a throwaway cluster (scripts/dev/postgres.sh) in DIR on a free port, with an
# empty `seghub` database. Sets SEG_DB_PORT and SEG_DB_URL (the URL segserver and segctl take).
seg_start_database() {
    SEG_DB_PORT="$(seg_free_port)"
    local admin_url
    admin_url="$(bash "$SEG_SCRIPTS/dev/postgres.sh" start "$1" "$SEG_DB_PORT" | tail -n 1)"
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

# seg_build [SWIFT_BUILD_OPTION... --] PRODUCT...: builds each product with `swift build OPTIONS --product
# PRODUCT` (debug unless the options say otherwise, e.g. `-c release --scratch-path .build-release --`) and
# sets SEG_BIN to the folder the binaries are in. While it builds it shows only the progress lines
# (compiling, linking, "Build complete"); warnings are left out. When a build fails it prints the errors,
# each with its source context (or the end of the output when no error line is found), and returns
# non-zero, so an old binary from an earlier build never runs in place of a broken one.
seg_build() {
    local options=() products=()
    if [[ " $* " == *" -- "* ]]; then
        while [ "$1" != "--" ]; do
            options+=("$1")
            shift
        done
        shift
    fi
    products=("$@")
    [ ${#products[@]} -gt 0 ] || { echo "seg_build: no product named" >&2; return 64; }
    local log product status
    log="$(mktemp /tmp/seghub-build.XXXXXX)"
    for product in "${products[@]}"; do
        # PIPESTATUS[0] is swift build's own status, whatever pipefail says; the filter always succeeds,
        # also when it selects no line (grep's 1), and reads to the end, so tee never meets a closed pipe.
        swift build "${options[@]}" --product "$product" 2>&1 | tee "$log" | seg_build_progress >&2 &&
            status=${PIPESTATUS[0]} || status=${PIPESTATUS[0]}
        if [ "$status" -ne 0 ]; then
            echo "seg_build: swift build ${options[*]}${options[*]:+ }--product $product failed (exit $status):" >&2
            seg_build_errors <"$log" >&2
            rm -f "$log"
            return "$status"
        fi
    done
    rm -f "$log"
    SEG_BIN="$(swift build "${options[@]}" --show-bin-path)"
}

# The lines of swift build's output worth seeing while it runs.
# SwiftPM's "waiting" notice has no line end: whatever follows it on that line is cut off.
seg_build_progress() {
    { grep --line-buffered -E '^(Building for |Build |Another instance of SwiftPM |Fetching |\[[0-9]+/[0-9]+\] (Compiling|Linking) )' || true; } |
        sed -u 's/\(finished execution\.\.\.\).*/\1/'
}

# The error diagnostics in swift build's output (stdin), each with the lines that follow it (source
# context, notes, the linker's "referenced by") up to the next diagnostic or progress line, and each
# once (swift build repeats a module's errors); the last 40 lines when there is no error line (a
# crash, a resolution failure worded otherwise).
seg_build_errors() {
    local output
    output="$(cat)"
    awk '
        function flush() {
            sub(/\n\n+$/, "\n", block)
            if (block != "" && !(block in seen)) { seen[block] = 1; printf "%s\n", block }
            block = ""
        }
        /^\[[0-9]+\/[0-9]+\] / { flush(); keep = 0; next }
        /(^|: )(fatal )?error: / { flush(); keep = 1; found = 1 }
        /(^|: )(warning|remark): / { flush(); keep = 0 }
        keep { block = block $0 "\n" }
        END { flush(); exit found ? 0 : 1 }
    ' <<<"$output" || tail -n 40 <<<"$output"
}

# seg_workspace NAME: a temporary folder for one run, SEG_WORK (/tmp/seghub-NAME.XXXXXX), and one for
# its database cluster, SEG_PG_DIR (a folder of its own, which postgres.sh hands to the server's user).
# On exit, whether the run passed or not, seg_cleanup stops what the run started and removes both.
seg_workspace() {
    SEG_WORK="$(mktemp -d "/tmp/seghub-$1.XXXXXX")"
    SEG_PG_DIR="$(mktemp -d "/tmp/seghub-$1-pg.XXXXXX")"
    trap seg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Processes seg_cleanup stops: segservers from seg_start_segserver and whatever seg_track adds.
SEG_PIDS=()

# seg_track PID...: stop these processes (SIGTERM, then wait) when the run ends.
seg_track() { SEG_PIDS+=("$@"); }

# seg_stop PID [SIGNAL]: stops a tracked process now (SIGTERM unless SIGNAL says otherwise), forgets it,
# and returns its exit status.
seg_stop() {
    local pid="$1" kept=() p status=0
    for p in "${SEG_PIDS[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    SEG_PIDS=("${kept[@]}")
    kill -"${2:-TERM}" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
}

# seg_cleanup: the EXIT trap of seg_workspace. Runs the script's own seg_on_exit first when it defines
# one (load generators, nginx, ...), then stops the tracked processes and the database cluster and
# removes the run's folders.
seg_cleanup() {
    if declare -F seg_on_exit >/dev/null; then seg_on_exit || true; fi
    local pid
    for pid in "${SEG_PIDS[@]}"; do
        if kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
    done
    if [ -n "${SEG_SMTP_DIR:-}" ]; then
        bash "$SEG_SCRIPTS/dev/smtp.sh" stop "$SEG_SMTP_DIR" >/dev/null 2>&1 || true
    fi
    if [ -n "${SEG_PG_DIR:-}" ]; then
        bash "$SEG_SCRIPTS/dev/postgres.sh" stop "$SEG_PG_DIR" >/dev/null 2>&1 || true
    fi
    rm -rf "${SEG_WORK:-}" "${SEG_PG_DIR:-}"
}

# seg_start_segserver [NAME=VALUE...] [-- SEGSERVER_ARG...]: starts $SEG_BIN/segserver (seg_build) on a
# free loopback port against SEG_DB_URL (seg_start_database), with its files in $SEG_WORK/data, a random
# JWT secret, one worker, log level warning in JSON lines and its own URL as SEG_PUBLIC_URL (the links in mail);
# NAME=VALUE settings add to these or replace them. Its
# output is appended to $SEG_WORK/segserver.log. Waits up to 60 s for /api/health to answer 200 (the log
# is printed if it dies first). Sets SEG_SERVER_PID (stopped on exit), SEG_PORT and SEG_URL. SEG_START_PORT, when
# set, is the port (to start a server again where a scraper or proxy expects it).
seg_start_segserver() {
    local settings=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        settings+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    SEG_PORT="${SEG_START_PORT:-$(seg_free_port)}"
    SEG_URL="http://127.0.0.1:$SEG_PORT"
    mkdir -p "$SEG_WORK/data"
    env SEG_DATABASE_URL="$SEG_DB_URL" SEG_DATA_DIR="$SEG_WORK/data" \
        SEG_JWT_SECRET="seghub-test-$(head -c 24 /dev/urandom | base64)" \
        SEG_HTTP_HOST=127.0.0.1 SEG_HTTP_PORT="$SEG_PORT" SEG_WORKERS=1 SEG_LOG_LEVEL=warning SEG_LOG_FORMAT=json SEG_PUBLIC_URL="$SEG_URL" \
        "${settings[@]}" "$SEG_BIN/segserver" "$@" >>"$SEG_WORK/segserver.log" 2>&1 &
    SEG_SERVER_PID=$!
    seg_track "$SEG_SERVER_PID"
    seg_wait_http "$SEG_URL/api/health" 200 60 "$SEG_SERVER_PID" "$SEG_WORK/segserver.log"
}

# seg_service_cli NAME "$@": the `start|stop|status DIR [PORT]` command line of scripts/dev/NAME.sh (postgres.sh,
# inference.sh). Sets `command`, `dir` and `port` (empty when not given); defines `log` and `die`, prefixed with
# NAME.sh, for the script's messages; prints the usage and exits 2 on anything else.
seg_service_cli() {
    SEG_SERVICE_NAME="$1.sh"
    shift
    log() { printf '%s: %s\n' "$SEG_SERVICE_NAME" "$*" >&2; }
    die() {
        log "$*"
        exit 1
    }
    if [ $# -lt 2 ] || [ $# -gt 3 ] || ! [[ "$1" =~ ^(start|stop|status)$ ]]; then
        echo "usage: scripts/dev/$SEG_SERVICE_NAME start|stop|status DIR [PORT]" >&2
        exit 2
    fi
    command="$1"
    dir="$2"
    port="${3:-}"
    [ -z "$port" ] || [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, not '$port'"
}

# seg_port_free PORT: true if nothing accepts TCP connections on 127.0.0.1:PORT.
seg_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# seg_service_pid SCRIPT: after seg_service_cli, the pid in DIR/server.pid when that process is alive and its
# command line names SCRIPT (so a recycled pid is not mistaken for our server); fails otherwise.
seg_service_pid() {
    local pid
    [ -f "$dir/server.pid" ] || return 1
    pid="$(cat "$dir/server.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$1" || return 1
    echo "$pid"
}

# seg_service_stop SCRIPT SECONDS [SIGNAL]: stops DIR's server (SIGNAL, SIGTERM by default, then SIGKILL after SECONDS)
# if it runs, and removes its pid file.
seg_service_stop() {
    local pid
    if pid="$(seg_service_pid "$1")"; then
        log "stopping the server in $dir (pid $pid, SIG${3:-TERM})"
        kill -"${3:-TERM}" "$pid" 2>/dev/null || true
        for _ in $(seq 1 $(($2 * 10))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "still running after $2 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/server.pid"
}

# seg_service_dir: after seg_service_cli, a DIR that does not exist means nothing runs (stop exits 0, status 3);
# for start it is made. `dir` becomes its absolute physical path.
seg_service_dir() {
    if [ ! -d "$dir" ]; then
        case "$command" in
            stop) exit 0 ;;
            status) exit 3 ;;
        esac
        mkdir -p "$dir"
    fi
    dir="$(cd "$dir" && pwd -P)"
}
