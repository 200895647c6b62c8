#!/usr/bin/env bash
# Tests blue-green deployment for real, under load, with the process runtime:
#   - its own PostgreSQL, real nginx (Debian) running deploy/nginx/nginx.prod.conf rendered for
#     loopback ports with a self-signed certificate (openssl), and two "releases" of segserver and
#     segctl (copies of the debug build) plus a broken one whose server never becomes ready;
#   - blue deployed first; then, while hey sends reads from 10 clients and 5 MB uploads from 2
#     clients through nginx the whole time: deploy green, roll back to blue, deploy a green that
#     fails its health check, deploy green again.
# Rate limits are raised for the test (nginx zones and segserver's buckets): the load is one client
# address. Passes when every answer across all switches is 2xx with no connection errors, the
# failed deploy never got traffic, and each switch verified; prints switch times and the p99
# latency of the load around each switch. Everything lives in temporary folders removed on exit.
# Usage: scripts/checks/test-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 nginx hey openssl gettext-base
seg_venv numpy opencv-python-headless

seg_workspace deploy
work="$SEG_WORK"
load_pids=()
export DEPLOY_RUNTIME=process DEPLOY_ENV_DIR="$work/env" DEPLOY_RUN_DIR="$work/run" DEPLOY_UPSTREAM_FILE="$work/nginx/active-upstream.conf"
export DEPLOY_NGINX="nginx -p $work/nginx -c $work/nginx/nginx.conf -e $work/nginx/error.log"
# Run by seg_cleanup before it stops the database and removes the folders.
seg_on_exit() {
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for colour in blue green; do
        [ -f "$work/run/$colour.pid" ] && kill -TERM "$(cat "$work/run/$colour.pid")" 2>/dev/null || true
    done
    [ -f "$work/nginx/nginx.pid" ] && $DEPLOY_NGINX -s stop 2>/dev/null || true
    sleep 1
}

seg_step "test-deploy: the compose files parse (docker-compose config -q, with the example env files)"
seg_apt_install docker-compose
mkdir -p "$work/compose"
cp docker-compose.db.yml docker-compose.staging.yml docker-compose.production.yml "$work/compose/"
cp .env.blue.example "$work/compose/.env.blue"
cp .env.green.example "$work/compose/.env.green"
for file in docker-compose.db.yml docker-compose.staging.yml docker-compose.production.yml; do
    (cd "$work/compose" && SEGHUB_DB_PASSWORD=test docker-compose --env-file .env.blue -f "$file" config -q) ||
        { echo "test-deploy: $file does not parse" >&2; exit 1; }
done

seg_step "test-deploy: building segserver and segctl (debug) and making three releases"
seg_build segserver segctl
bin="$SEG_BIN"
for release in r1 r2; do
    mkdir -p "$work/releases/$release"
    cp "$bin/segserver" "$bin/segctl" "$work/releases/$release/"
done
# The broken release: its segctl works (migrations pass) but its server never answers.
mkdir -p "$work/releases/broken"
cp "$bin/segctl" "$work/releases/broken/"
printf '#!/bin/sh\nexec sleep 3600\n' >"$work/releases/broken/segserver"
chmod +x "$work/releases/broken/segserver"

seg_step "test-deploy: PostgreSQL, env files, nginx with a self-signed certificate"
seg_start_database "$SEG_PG_DIR"
mkdir -p "$work/env" "$work/run" "$work/nginx" "$work/data" "$work/backups"
secret="deploy-test-$(head -c 24 /dev/urandom | base64)"
write_env() {  # write_env COLOUR PORT RELEASE
    cat >"$work/env/.env.$1" <<ENV
SEGHUB_COLOUR=$1
SEGHUB_RELEASE=$3
SEGHUB_BIN_DIR=$work/releases/$3
SEG_DATABASE_URL=$SEG_DB_URL
SEG_DATA_DIR=$work/data
SEG_BACKUP_DIR=$work/backups
SEG_JWT_SECRET=$secret
SEG_HTTP_HOST=127.0.0.1
SEG_HTTP_PORT=$2
SEG_WORKERS=1
SEG_LOG_LEVEL=warning
SEG_AUTO_MIGRATE=false
SEG_TRUSTED_PROXIES=127.0.0.1/32
# Raised for this test: all load comes from one address.
SEG_RATE_API=0
SEG_RATE_AUTH=0
ENV
}
blue_port="$(seg_free_port)"
green_port="$(seg_free_port)"
write_env blue "$blue_port" r1
write_env green "$green_port" r2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2>/dev/null
https_port="$(seg_free_port)"
SEGHUB_NGINX_USER="$(id -un)" SEGHUB_NGINX_PREFIX="$work/nginx" SEGHUB_UPSTREAM_FILE="$DEPLOY_UPSTREAM_FILE" \
    SEGHUB_HTTP_PORT="$(seg_free_port)" SEGHUB_HTTPS_PORT="$https_port" SEGHUB_SERVER_NAME=localhost \
    SEGHUB_TLS_CERTIFICATE="$work/nginx/cert.pem" SEGHUB_TLS_CERTIFICATE_KEY="$work/nginx/key.pem" \
    SEGHUB_RATE_API=100000r/s SEGHUB_RATE_AUTH=100000r/s SEGHUB_RATE_UPLOADS=100000r/s \
    bash scripts/deploy/render-nginx-conf.sh >"$work/nginx/nginx.conf"
export DEPLOY_PUBLIC_URL="https://127.0.0.1:$https_port"

seg_step "test-deploy: first deployment (blue), then nginx"
# nginx needs an upstream file to start; the first deploy writes the real one.
printf 'upstream seghub_api { server 127.0.0.1:%s; }\n' "$blue_port" >"$DEPLOY_UPSTREAM_FILE"
$DEPLOY_NGINX
rm "$DEPLOY_UPSTREAM_FILE"
bash scripts/deploy/deploy-blue-green.sh blue

seg_step "test-deploy: a user, a project and a 5 MB image for the load"
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
token="$(curl -skf -X POST "$DEPLOY_PUBLIC_URL/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email": "load@example.org", "password": "load test password"}' | json '["accessToken"]')"
project="$(curl -skf -X POST "$DEPLOY_PUBLIC_URL/api/v1/projects" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name": "load"}' | json '["id"]')"
"$SEG_VENV/bin/python" - "$work/upload.body" <<'PY'
import sys
import cv2
import numpy as np
rng = np.random.default_rng(5)
image = rng.integers(0, 256, (1300, 1300, 3), dtype=np.uint8)
ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
boundary = b"seghubdeploytestboundary"
with open(sys.argv[1], "wb") as body:
    body.write(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="load.png"\r\n')
    body.write(b"Content-Type: image/png\r\n\r\n" + png.tobytes() + b"\r\n--" + boundary + b"--\r\n")
PY
echo "upload body: $(wc -c <"$work/upload.body") bytes" >&2

# Load in back-to-back segments of 2 s, so the p99 around each switch can be read afterwards;
# each segment's hey summary goes to its own file named by its start time.
load_loop() {  # load_loop NAME HEY-ARGS...
    local name="$1"
    shift
    mkdir -p "$work/load/$name"
    while [ ! -f "$work/load/stop" ]; do
        hey -z 2s "$@" >"$work/load/$name/$(date +%s.%N)" 2>&1 || true
    done
}
mkdir -p "$work/load"
load_loop reads -c 10 -H "Authorization: Bearer $token" "$DEPLOY_PUBLIC_URL/api/v1/projects/$project" &
load_pids+=($!)
load_loop uploads -c 2 -disable-keepalive -m POST -D "$work/upload.body" \
    -T "multipart/form-data; boundary=seghubdeploytestboundary" -H "Authorization: Bearer $token" \
    "$DEPLOY_PUBLIC_URL/api/v1/projects/$project/images" &
load_pids+=($!)
sleep 4

switches="$work/switches"
timed() {  # timed NAME COMMAND...: runs COMMAND, records "NAME START END STATUS"
    local start end status=0
    start="$(date +%s.%N)"
    "${@:2}" >"$work/$1.log" 2>&1 || status=$?
    end="$(date +%s.%N)"
    echo "$1 $start $end $status" >>"$switches"
    cat "$work/$1.log" >&2
    return 0
}
seg_step "test-deploy: deploy green under load"
timed deploy-green bash scripts/deploy/deploy-blue-green.sh
sleep 3
seg_step "test-deploy: roll back to blue under load"
timed rollback bash scripts/deploy/rollback-deployment.sh
sleep 3
seg_step "test-deploy: deploy a green that never becomes ready"
write_env green "$green_port" broken
DEPLOY_HEALTH_TIMEOUT=15 timed deploy-broken bash scripts/deploy/deploy-blue-green.sh
active_after_broken="$(sed -n 's/^# colour: //p' "$DEPLOY_UPSTREAM_FILE")"
sleep 3
seg_step "test-deploy: deploy green again under load"
write_env green "$green_port" r2
timed deploy-green-again bash scripts/deploy/deploy-blue-green.sh
sleep 4
touch "$work/load/stop"
for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
load_pids=()

seg_step "test-deploy: results"
active_at_end="$(sed -n 's/^# colour: //p' "$DEPLOY_UPSTREAM_FILE")"
python3 - "$work/load" "$switches" "$active_after_broken" "$active_at_end" <<'PY'
import os, re, sys
load, switches_file, after_broken, at_end = sys.argv[1:5]
failures = []
segments = []  # (kind, start, codes{code: n}, errors n, p99 s, end)
for kind in ("reads", "uploads"):
    for name in sorted(os.listdir(os.path.join(load, kind))):
        text = open(os.path.join(load, kind, name)).read()
        codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)}
        errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+\D", text.split("Error distribution:")[1], re.M)) if "Error distribution:" in text else 0
        # hey prints no 99th percentile for small samples (a "0% in 0.0000 secs" line instead): then the slowest
        # answer is the 99th percentile.
        p99 = re.search(r" 99% in ([\d.]+) secs", text) or re.search(r"Slowest:\s+([\d.]+) secs", text)
        # A segment ends when hey wrote its summary: the file's modification time.
        end = os.path.getmtime(os.path.join(load, kind, name))
        segments.append((kind, float(name), codes, errors, float(p99.group(1)) if p99 else None, end))
for kind in ("reads", "uploads"):
    mine = [s for s in segments if s[0] == kind]
    total = sum(sum(s[2].values()) for s in mine)
    bad = sum(n for s in mine for c, n in s[2].items() if not 200 <= c < 300)
    errors = sum(s[3] for s in mine)
    print(f"{kind}: {total} answers in {len(mine)} segments, {bad} non-2xx, {errors} connection errors")
    if total == 0:
        failures.append(f"no {kind} were answered")
    if bad or errors:
        failures.append(f"{kind}: {bad} non-2xx answers and {errors} connection errors")
        for s in mine:
            if s[3] or any(not 200 <= c < 300 for c in s[2]):
                print(f"  segment at {s[1]:.1f}: {s[2]} errors {s[3]}")
print("\nswitch              seconds  status  p99 reads  p99 uploads (load segments overlapping the switch)")
for line in open(switches_file):
    name, start, end, status = line.split()
    start, end, status = float(start), float(end), int(status)
    def p99(kind):
        values = [s[4] for s in segments if s[0] == kind and s[4] is not None and s[1] < end and s[5] > start]
        return f"{max(values) * 1000:.0f} ms" if values else "-"
    print(f"  {name:<18} {end - start:7.2f} {status:7d}  {p99('reads'):>9}  {p99('uploads'):>11}")
    expected = 1 if name == "deploy-broken" else 0
    if (status != 0) != (expected == 1):
        failures.append(f"{name} exited {status}")
if after_broken != "blue":
    failures.append(f"after the failed deploy the upstream file names {after_broken!r}, not blue")
if at_end != "green":
    failures.append(f"at the end the upstream file names {at_end!r}, not green")
if failures:
    print("\nFAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("\ntest-deploy: every answer 2xx, no connection errors, the broken release never took traffic")
PY
