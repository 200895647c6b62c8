#!/usr/bin/env bash
# Shared steps of scripts/deploy/deploy-blue-green.sh and scripts/deploy/rollback-deployment.sh: settings, the
# active colour from nginx's upstream file, starting and stopping a colour with Docker Compose or
# as plain processes, health checks, and switching nginx with a way back.
#
# Settings (environment; defaults in brackets):
#   DEPLOY_RUNTIME          compose | process [process]
#   DEPLOY_ENV_DIR          where .env.blue and .env.green live [the checkout]
#   DEPLOY_UPSTREAM_FILE    the upstream file nginx.prod.conf includes [/etc/nginx/seghub/active-upstream.conf]
#   DEPLOY_NGINX            the nginx command, with -p/-c as needed [nginx]
#   DEPLOY_PUBLIC_URL       where nginx answers, for the verification [https://127.0.0.1]
#   DEPLOY_RUN_DIR          pid and log files of the process runtime [/var/lib/seghub/run]
#   DEPLOY_HEALTH_TIMEOUT   seconds a new colour has to become ready [120]
#   DEPLOY_SKIP_BACKUP      1 skips the backup before a deploy (tests that have no data to lose) [0]
# Each colour's env file holds segserver's SEG_* settings and SEGHUB_COLOUR, SEGHUB_RELEASE, and
# SEGHUB_BIN_DIR (process runtime: the release's segserver and segctl) or SEGHUB_IMAGE (compose).

source scripts/lib/common.sh

DEPLOY_RUNTIME="${DEPLOY_RUNTIME:-process}"
DEPLOY_ENV_DIR="${DEPLOY_ENV_DIR:-$(pwd)}"
DEPLOY_UPSTREAM_FILE="${DEPLOY_UPSTREAM_FILE:-/etc/nginx/seghub/active-upstream.conf}"
DEPLOY_NGINX="${DEPLOY_NGINX:-nginx}"
DEPLOY_PUBLIC_URL="${DEPLOY_PUBLIC_URL:-https://127.0.0.1}"
DEPLOY_RUN_DIR="${DEPLOY_RUN_DIR:-/var/lib/seghub/run}"
DEPLOY_HEALTH_TIMEOUT="${DEPLOY_HEALTH_TIMEOUT:-120}"
DEPLOY_SKIP_BACKUP="${DEPLOY_SKIP_BACKUP:-0}"

deploy_started_at="$(date +%s.%N)"
step_started_at="$deploy_started_at"

# deploy_log MESSAGE: a line with the wall time, the seconds since the start and since the last step.
deploy_log() {
    local now
    now="$(date +%s.%N)"
    awk -v now="$now" -v start="$deploy_started_at" -v step="$step_started_at" -v clock="$(date -u +%H:%M:%S.%3N)" -v msg="$*" \
        'BEGIN { printf "%s [+%6.2fs, step %5.2fs] %s\n", clock, now - start, now - step, msg }' >&2
    step_started_at="$now"
}

deploy_fail() {
    deploy_log "FAILED: $*"
    exit 1
}

case "$DEPLOY_RUNTIME" in
    compose | process) ;;
    *) echo "DEPLOY_RUNTIME must be compose or process, not '$DEPLOY_RUNTIME'" >&2; exit 64 ;;
esac

colour_env_file() { echo "$DEPLOY_ENV_DIR/.env.$1"; }

other_colour() { [ "$1" = "blue" ] && echo green || echo blue; }

# env_value COLOUR KEY: the value of KEY in the colour's env file (last assignment wins, quotes removed).
env_value() {
    local file
    file="$(colour_env_file "$1")"
    [ -f "$file" ] || { echo "missing env file $file" >&2; return 1; }
    sed -n "s/^[[:space:]]*$2=//p" "$file" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}

colour_port() {
    local port
    port="$(env_value "$1" SEG_HTTP_PORT)"
    [ -n "$port" ] || { echo "SEG_HTTP_PORT is not set in $(colour_env_file "$1")" >&2; return 1; }
    echo "$port"
}

# active_colour: the colour the upstream file sends traffic to, or nothing when there is none yet.
active_colour() {
    [ -f "$DEPLOY_UPSTREAM_FILE" ] || return 0
    sed -n 's/^# colour: \(blue\|green\)$/\1/p' "$DEPLOY_UPSTREAM_FILE" | head -n 1
}

compose_file() { [ "$1" = "blue" ] && echo docker-compose.staging.yml || echo docker-compose.production.yml; }

# compose COLOUR ARGS...: the colour's project (the database runs as its own project, seghub-db).
compose() {
    local colour="$1"
    shift
    docker-compose -p "seghub-$colour" --env-file "$(colour_env_file "$colour")" -f "$(compose_file "$colour")" "$@"
}

# with_colour_env COLOUR COMMAND...: runs COMMAND with only the colour's env file as its SEG_ settings.
with_colour_env() {
    local file
    file="$(colour_env_file "$1")"
    shift
    env -i PATH="$PATH" HOME="${HOME:-/root}" bash -c 'set -a; . "$0"; set +a; exec "$@"' "$file" "$@"
}

runtime_running() {  # runtime_running COLOUR: exit 0 when the colour's segserver is up (not necessarily ready)
    if [ "$DEPLOY_RUNTIME" = "compose" ]; then
        [ -n "$(compose "$1" ps -q segserver 2>/dev/null)" ]
    else
        local pid_file="$DEPLOY_RUN_DIR/$1.pid"
        [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
    fi
}

runtime_start() {  # runtime_start COLOUR
    if [ "$DEPLOY_RUNTIME" = "compose" ]; then
        compose "$1" up -d --remove-orphans segserver
    else
        local bin
        bin="$(env_value "$1" SEGHUB_BIN_DIR)"
        [ -x "$bin/segserver" ] || { echo "no segserver in SEGHUB_BIN_DIR=$bin" >&2; return 1; }
        mkdir -p "$DEPLOY_RUN_DIR"
        # A simple command (not a function) in the background, so that $! is segserver itself once env,
        # bash and setsid have exec'd; setsid: it outlives this script and the terminal's signals.
        env -i PATH="$PATH" HOME="${HOME:-/root}" bash -c 'set -a; . "$0"; set +a; exec "$@"' "$(colour_env_file "$1")" \
            setsid "$bin/segserver" --role all >>"$DEPLOY_RUN_DIR/$1.log" 2>&1 </dev/null &
        echo $! >"$DEPLOY_RUN_DIR/$1.pid"
    fi
}

runtime_stop() {  # runtime_stop COLOUR: graceful (SIGTERM; segserver finishes in-flight work within 40 s)
    if [ "$DEPLOY_RUNTIME" = "compose" ]; then
        compose "$1" stop -t 45 segserver
    else
        local pid_file="$DEPLOY_RUN_DIR/$1.pid" pid
        [ -f "$pid_file" ] || return 0
        pid="$(cat "$pid_file")"
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file"
    fi
}

runtime_segctl() {  # runtime_segctl COLOUR ARGS...: the colour's release of segctl with its settings
    local colour="$1"
    shift
    if [ "$DEPLOY_RUNTIME" = "compose" ]; then
        compose "$colour" run --rm --no-deps segserver segctl "$@"
    else
        with_colour_env "$colour" "$(env_value "$colour" SEGHUB_BIN_DIR)/segctl" "$@"
    fi
}

# wait_ready COLOUR SECONDS: until the colour's /api/health answers 200 (exit 1 on timeout).
wait_ready() {
    seg_wait_http "http://127.0.0.1:$(colour_port "$1")/api/health" 200 "$2"
}

# upstream_text COLOUR: the upstream file that sends traffic to the colour's ports.
upstream_text() {
    local port extra
    port="$(colour_port "$1")"
    extra="$(env_value "$1" SEGHUB_EXTRA_API_PORTS || true)"
    echo "# Written by scripts/deploy/deploy-blue-green.sh and scripts/deploy/rollback-deployment.sh; do not edit."
    echo "# colour: $1"
    echo "upstream seghub_api {"
    echo "    server 127.0.0.1:$port max_fails=0;"
    for p in ${extra//,/ }; do echo "    server 127.0.0.1:$p max_fails=0;"; done
    echo "    keepalive 64;"
    echo "}"
}

# switch_nginx COLOUR: writes the upstream file, checks the configuration and reloads; restores the
# previous file (and reloads it) when the check or the reload fails.
switch_nginx() {
    local backup="$DEPLOY_UPSTREAM_FILE.previous" had_previous=0
    mkdir -p "$(dirname "$DEPLOY_UPSTREAM_FILE")"
    if [ -f "$DEPLOY_UPSTREAM_FILE" ]; then cp -p "$DEPLOY_UPSTREAM_FILE" "$backup"; had_previous=1; fi
    upstream_text "$1" >"$DEPLOY_UPSTREAM_FILE.tmp"
    mv -f "$DEPLOY_UPSTREAM_FILE.tmp" "$DEPLOY_UPSTREAM_FILE"
    if $DEPLOY_NGINX -t >/dev/null 2>"$DEPLOY_RUN_DIR/nginx-test.log" && $DEPLOY_NGINX -s reload; then
        return 0
    fi
    cat "$DEPLOY_RUN_DIR/nginx-test.log" >&2 || true
    if [ "$had_previous" = 1 ]; then
        mv -f "$backup" "$DEPLOY_UPSTREAM_FILE"
        $DEPLOY_NGINX -t >/dev/null 2>&1 && $DEPLOY_NGINX -s reload || true
    fi
    return 1
}

# verify_public COLOUR: nginx's answer to /api/health comes from the colour (its upstream address,
# which nginx.prod.conf reports in X-SegHub-Upstream on that route only), within 15 s of a reload.
verify_public() {
    local port headers
    port="$(colour_port "$1")"
    for _ in $(seq 1 60); do
        headers="$(curl -sk -m 5 -o /dev/null -D - "$DEPLOY_PUBLIC_URL/api/health" || true)"
        if echo "$headers" | head -n 1 | grep -q " 200" && echo "$headers" | grep -qi "^x-seghub-upstream: 127.0.0.1:$port"; then
            return 0
        fi
        sleep 0.25
    done
    echo "nginx at $DEPLOY_PUBLIC_URL does not answer from $1 (port $port)" >&2
    return 1
}
