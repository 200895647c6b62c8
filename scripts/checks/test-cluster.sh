#!/usr/bin/env bash
# SegHub across machines, on one: PostgreSQL, SeaweedFS (scripts/dev/seaweedfs.sh, the S3 store), two API nodes and
# one worker node, each with its own scratch directory and no shared folder, behind real nginx (deploy/nginx's
# template, round robin over both API nodes). Through nginx (scripts/checks/cluster.py): register, upload, segment
# while event sockets on both API nodes hear the worker's results, read polygons and originals, export and download.
# Then one API node is killed under load (hey): every request still succeeds through the other; then the worker is
# killed mid-job and another started: the job finishes once. Then the store is stopped during an export (retried, then
# failed with a reason; nothing stored; a new export once it is back succeeds), and an API node is killed while it
# stores a large upload in parts (no object shows; segctl gc aborts the upload it left; the same upload through a new
# node succeeds). Prints requests per second through nginx with two API nodes and with one, and how long each took.
# Everything lives in a temporary folder removed on exit.
# Usage: scripts/checks/test-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 nginx hey openssl gettext-base

seg_workspace cluster
work="$SEG_WORK"
nginx_run="nginx -p $work/nginx -c $work/nginx/nginx.conf -e $work/nginx/error.log"
seg_on_exit() {
    [ -f "$work/nginx/nginx.pid" ] && $nginx_run -s stop 2>/dev/null || true
    bash scripts/dev/seaweedfs.sh stop "$work/s3" >/dev/null 2>&1 || true
}

seg_step "cluster: building segserver (debug)"
seg_build segserver segctl

seg_step "cluster: PostgreSQL and SeaweedFS"
seg_start_database "$SEG_PG_DIR"
bash scripts/dev/seaweedfs.sh start "$work/s3" "$(seg_free_ports 8)" >/dev/null
s3_settings=()
while IFS= read -r line; do [ -n "$line" ] && s3_settings+=("$line"); done <"$work/s3/s3.env"
s3_settings+=("SEG_S3_PREFIX=cluster")

seg_step "cluster: two API nodes and a worker node, no shared folder"
common=(SEG_JWT_SECRET="cluster-secret-$(head -c 24 /dev/urandom | base64)" SEG_JOB_LEASE_SECONDS=5 SEG_RATE_API=0 SEG_RATE_AUTH=0
    SEG_TRUSTED_PROXIES=127.0.0.1/32 SEG_MAX_UPLOAD_BYTES=$((128 << 20)) "${s3_settings[@]}")
export SEG_S3_ENV="$work/s3/s3.env"
node() { # node NAME ROLE [SETTING...]: starts a node with its own data directory; sets node_pid and node_url
    local name="$1" role="$2"
    shift 2
    seg_start_segserver "${common[@]}" SEG_DATA_DIR="$work/$name" SEG_WORKERS=0 "$@" -- --role "$role"
    node_pid="$SEG_SERVER_PID"
    node_url="$SEG_URL"
    echo "cluster: $name ($role) at $node_url, pid $node_pid, data $work/$name" >&2
}
node api-a api
api_a_pid="$node_pid" api_a_url="$node_url" api_a_port="$SEG_PORT"
node api-b api
api_b_pid="$node_pid" api_b_url="$node_url" api_b_port="$SEG_PORT"
node worker-1 worker SEG_WORKERS=2
worker_pid="$node_pid"

seg_step "cluster: nginx, round robin over both API nodes"
mkdir -p "$work/nginx"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2>/dev/null
# A shared zone, so that every nginx worker process takes the next node in turn. No upstream keepalive, as in
# production: a WebSocket upgrade must be the first request of its connection to segserver.
upstream() { # upstream PORT...: nginx's upstream block over the API nodes on PORTs
    { printf 'upstream seghub_api {\n    zone seghub_upstream 64k;\n'; printf '    server 127.0.0.1:%s;\n' "$@"; printf '}\n'; } \
        >"$work/nginx/upstream.conf"
}
upstream "$api_a_port" "$api_b_port"
https_port="$(seg_free_port)"
SEGHUB_NGINX_USER="$(id -un)" SEGHUB_NGINX_PREFIX="$work/nginx" SEGHUB_UPSTREAM_FILE="$work/nginx/upstream.conf" \
    SEGHUB_HTTP_PORT="$(seg_free_port)" SEGHUB_HTTPS_PORT="$https_port" SEGHUB_SERVER_NAME=localhost \
    SEGHUB_TLS_CERTIFICATE="$work/nginx/cert.pem" SEGHUB_TLS_CERTIFICATE_KEY="$work/nginx/key.pem" \
    SEGHUB_RATE_API=100000r/s SEGHUB_RATE_AUTH=100000r/s SEGHUB_RATE_UPLOADS=100000r/s \
    bash scripts/deploy/render-nginx-conf.sh >"$work/nginx/nginx.conf"
$nginx_run
url="https://localhost:$https_port"
for _ in $(seq 1 100); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/api/health" || true)" = 200 ] && break
    sleep 0.2
done
[ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/api/health")" = 200 ] || { cat "$work/nginx/error.log" >&2; exit 1; }

seg_step "cluster: register, upload, segment, events on both API nodes, export, download (through nginx)"
read -r token project < <(python3 scripts/checks/cluster.py "$url" flow "$api_a_url" "$api_b_url") \
    || { tail -n 30 "$work/segserver.log" >&2; exit 1; }
[ -n "$project" ] || { echo "cluster: the flow failed" >&2; tail -n 30 "$work/segserver.log" >&2; exit 1; }

seg_step "cluster: requests per second through nginx, two API nodes, then one killed under load"
rate() { # rate SECONDS OUTPUT: GET /api/v1/projects through nginx for SECONDS with 16 connections; the hey report
    hey -z "$1s" -c 16 -H "Authorization: Bearer $token" "$url/api/v1/projects" >"$2" 2>&1
}
status_codes() { awk '/Status code distribution:/ {on = 1; next} on && /\[[0-9]+\]/ {print} on && /^$/ {on = 0}' "$1"; }
rps() { awk '/Requests\/sec:/ {print $2}' "$1"; }
rate 8 "$work/two.txt"
# Under load: kill API node A after 3 s of 10.
rate 10 "$work/kill.txt" &
load=$!
sleep 3
seg_stop "$api_a_pid" KILL || true
echo "cluster: killed API node A (pid $api_a_pid) under load" >&2
wait "$load"
rate 8 "$work/one.txt"
for phase in two kill one; do
    codes="$(status_codes "$work/$phase.txt")"
    echo "cluster: $phase: $(rps "$work/$phase.txt") requests/s; status codes: $(echo $codes)" >&2
    if echo "$codes" | grep -v '\[200\]' | grep -q .; then
        echo "cluster: FAILED: a request did not succeed ($phase)" >&2
        cat "$work/$phase.txt" >&2
        exit 1
    fi
    grep -q "Error distribution" "$work/$phase.txt" && { echo "cluster: FAILED: connection errors ($phase)" >&2; cat "$work/$phase.txt" >&2; exit 1; }
done
# Later writes go through the surviving node as well.
python3 - "$url" "$token" "$project" <<'PY' || exit 1
import json, ssl, sys, urllib.request
sys.path.insert(0, "scripts/checks")
sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], sys.argv[3]]
import e2e
urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl._create_unverified_context())))
token, project = sys.argv[2], sys.argv[3]
body, content_type = e2e.multipart([("after-kill.png", e2e.spheroid_png(77))])
status, payload, _ = e2e.call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
e2e.expect(status, 201, payload, "an upload after the node was killed")
print("cluster: an upload after the kill went through the other node", file=sys.stderr)
PY
two="$(rps "$work/two.txt")"
one="$(rps "$work/one.txt")"
echo "cluster: through nginx: $two requests/s with two API nodes, $one with one ($(python3 -c "print(f'{$two / $one:.2f}')")×)" >&2

seg_step "cluster: the worker node killed mid-job, another started: the job finishes once"
image="$(python3 scripts/checks/cluster.py "$url" queue-large | awk '{print $1}')"
seg_await_job_held "$image" "$worker_pid" 120 || exit 1
seg_stop "$worker_pid" KILL || true
echo "cluster: killed the worker node (pid $worker_pid) while it held the job" >&2
node worker-2 worker SEG_WORKERS=2
job="$(seg_expect_handover "$image" "$node_pid" 240)" || exit 1
echo "cluster: the new worker node finished it after the lease ($job); one result version" >&2
[ -z "$(ls -A "$work/api-b/objects" 2>/dev/null)" ] || { echo "cluster: a node kept objects in its data directory" >&2; exit 1; }

seg_step "cluster: the store stopped during an export, then started again"
python3 scripts/checks/cluster.py "$url" objects >"$work/objects-before.txt" || exit 1
s3_port="$(cat "$work/s3/port")"
bash scripts/dev/seaweedfs.sh stop "$work/s3" >/dev/null
echo "cluster: SeaweedFS stopped" >&2
python3 scripts/checks/cluster.py "$url" export-fails "$token" "$project" || { tail -n 30 "$work/segserver.log" >&2; exit 1; }
bash scripts/dev/seaweedfs.sh start "$work/s3" "$s3_port" >/dev/null
echo "cluster: SeaweedFS started again" >&2
python3 scripts/checks/cluster.py "$url" objects >"$work/objects-after.txt" || exit 1
cmp -s "$work/objects-before.txt" "$work/objects-after.txt" || {
    echo "cluster: FAILED: the failed export left objects in the bucket:" >&2
    diff "$work/objects-before.txt" "$work/objects-after.txt" >&2
    exit 1
}
echo "cluster: the failed export stored nothing" >&2
python3 scripts/checks/cluster.py "$url" export-done "$token" "$project" || { tail -n 30 "$work/segserver.log" >&2; exit 1; }

seg_step "cluster: an API node killed while it stores an upload in parts; gc aborts what it left"
read -r seed key < <(python3 scripts/checks/cluster.py "$url" kill-mid-upload "$token" "$project" "$api_b_pid") || true
[ -n "${key:-}" ] || { echo "cluster: FAILED: the mid-upload kill" >&2; tail -n 30 "$work/segserver.log" >&2; exit 1; }
node api-c api
upstream "$SEG_PORT"
$nginx_run -s reload
for _ in $(seq 1 100); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/api/health" || true)" = 200 ] && break
    sleep 0.2
done
echo "cluster: API node C took over behind nginx" >&2
[ "$(python3 scripts/checks/cluster.py "$url" pending-uploads)" = 1 ] || { echo "cluster: FAILED: expected one open multipart upload" >&2; exit 1; }
mkdir -p "$work/gc"
env SEG_DATABASE_URL="$SEG_DB_URL" SEG_DATA_DIR="$work/gc" "${s3_settings[@]}" "$SEG_BIN/segctl" gc --delete --min-age-minutes 0 >&2
[ "$(python3 scripts/checks/cluster.py "$url" pending-uploads)" = 0 ] || { echo "cluster: FAILED: gc left the multipart upload open" >&2; exit 1; }
echo "cluster: segctl gc aborted the killed node's multipart upload" >&2
python3 scripts/checks/cluster.py "$url" upload-noise "$token" "$project" "$seed" || { tail -n 30 "$work/segserver.log" >&2; exit 1; }
echo "cluster: all checks passed" >&2
