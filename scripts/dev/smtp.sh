#!/usr/bin/env bash
# A real SMTP server for development and tests: aiosmtpd (PyPI) with scripts/dev/smtp_server.py, in the
# background, with its state in a directory of its own: a self-signed certificate for localhost
# (DIR/cert.pem, which clients trust as their CA), what it received (DIR/inbox/*.eml with *.json
# envelopes) and DIR/server.json (ports, user, password, CA file) for tests.
# Usage: scripts/dev/smtp.sh start|stop|status DIR [PORT]
#   start   installs aiosmtpd into the venv (~/.cache/seghub/venv, SEGHUB_VENV overrides) when missing,
#           then listens on 127.0.0.1:PORT (STARTTLS and AUTH after it), PORT+1 (implicit TLS, AUTH) and
#           PORT+2 (plain, no TLS) (default PORT 2525). User `seghub`, a generated password. Recipients
#           whose local part starts with reject550, tempfail, stall or slowok get those faults (see the server).
#           When it already runs from DIR it is left as it is.
#   stop    SIGTERM, then SIGKILL after 10 s; does nothing if it is not running.
#   status  exit 0 if running, 3 if not.
# start and status print smtp://localhost:PORT as the last line of standard output; progress goes to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

seg_service_cli smtp "$@"

url_for() { printf 'smtp://localhost:%s\n' "$1"; }

running_pid() { seg_service_pid smtp_server.py; }

seg_service_dir

case "$command" in
    status)
        running_pid >/dev/null || exit 3
        url_for "$(cat "$dir/port")"
        exit 0
        ;;
    stop)
        seg_service_stop smtp_server.py 10
        rm -f "$dir/ready"
        exit 0
        ;;
esac

if pid="$(running_pid)"; then
    log "already running from $dir (pid $pid)"
    url_for "$(cat "$dir/port")"
    exit 0
fi

port="${port:-2525}"
for p in "$port" $((port + 1)) $((port + 2)); do
    seg_port_free "$p" || die "127.0.0.1:$p is in use by another process"
done
seg_apt_install openssl
seg_venv "aiosmtpd==1.4.6"

if [ ! -f "$dir/cert.pem" ]; then
    log "making a self-signed certificate for localhost"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
fi
password="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
mkdir -p "$dir/inbox"
echo "$port" >"$dir/port"
rm -f "$dir/ready"
printf '{"host": "localhost", "starttlsPort": %d, "smtpsPort": %d, "plainPort": %d, "user": "seghub", "password": "%s", "caFile": "%s", "inbox": "%s"}\n' \
    "$port" $((port + 1)) $((port + 2)) "$password" "$dir/cert.pem" "$dir/inbox" >"$dir/server.json"
log "starting the SMTP server on 127.0.0.1:$port-$((port + 2)) (log in $dir/server.log)"
setsid "$SEG_VENV/bin/python" "$SEG_SCRIPTS/dev/smtp_server.py" "$dir" "$port" seghub "$password" \
    </dev/null >>"$dir/server.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/server.pid"
for _ in $(seq 1 300); do
    [ -f "$dir/ready" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; rm -f "$dir/server.pid"; die "the SMTP server died"; }
    sleep 0.1
done
[ -f "$dir/ready" ] || { kill -TERM "$pid" 2>/dev/null || true; rm -f "$dir/server.pid"; die "the SMTP server did not start"; }
url_for "$port"
