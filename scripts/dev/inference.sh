#!/usr/bin/env bash
# A reference Open Inference Protocol (KServe v2 REST) server for development and tests: KServe's Python
# ModelServer (PyPI kserve) with scripts/dev/inference_server.py, serving every *.onnx of a folder with
# onnxruntime on the CPU, in the background, with its state in a directory of its own.
# Usage: scripts/dev/inference.sh start|stop|status DIR [PORT]
#   start   installs kserve and onnxruntime into the venv (~/.cache/seghub/venv, SEGHUB_VENV overrides)
#           when missing, then starts the server on 127.0.0.1:PORT (default 8085; loopback only) serving
#           every *.onnx in SEG_INFERENCE_MODELS (default: models/ of this checkout) as model FILE-STEM,
#           version 1, with SEG_INFERENCE_THREADS onnxruntime threads (default 2). Its pid is in
#           DIR/server.pid, its port in DIR/port, its output in DIR/server.log. Waits until
#           /v2/health/ready answers 200 (SEGHUB_INFERENCE_START_SECONDS, default 120). When it already
#           runs from DIR it is left as it is (a different PORT is then an error: stop it first).
#   stop    SIGTERM, then SIGKILL after 30 s; does nothing if it is not running or DIR does not exist.
#   status  exit 0 if running, 3 if not.
# start and status print the base URL (http://127.0.0.1:PORT) as the last line of standard output, with
# nothing after it on either stream; progress goes to stderr.
# Check a running server with: scripts/dev/inference_check.py http://127.0.0.1:PORT seghub-unet
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

seg_service_cli inference "$@"

url_for() { printf 'http://127.0.0.1:%s\n' "$1"; }

running_pid() { seg_service_pid inference_server.py; }

seg_service_dir

case "$command" in
    status)
        running_pid >/dev/null || exit 3
        url_for "$(cat "$dir/port")"
        exit 0
        ;;
    stop)
        seg_service_stop inference_server.py 30
        exit 0
        ;;
esac

# start
if pid="$(running_pid)"; then
    running_port="$(cat "$dir/port")"
    [ -z "$port" ] || [ "$port" = "$running_port" ] ||
        die "already running from $dir on port $running_port (pid $pid), not $port: stop it first"
    log "already running from $dir (pid $pid)"
    url_for "$running_port"
    exit 0
fi

port="${port:-8085}"
models="${SEG_INFERENCE_MODELS:-$SEG_SCRIPTS/../models}"
[ -d "$models" ] || die "no models folder $models (SEG_INFERENCE_MODELS)"
models="$(cd "$models" && pwd -P)"
compgen -G "$models/*.onnx" >/dev/null || die "no *.onnx in $models"
seg_port_free "$port" || die "127.0.0.1:$port is in use by another process"

# kserve is pinned: inference_server.py works around three limits of its 0.21 REST server.
seg_venv "kserve==0.21.0" "onnxruntime==1.32.0"

log "starting the server on 127.0.0.1:$port for $(cd "$models" && echo *.onnx) (log in $dir/server.log)"
echo "$port" >"$dir/port"
# setsid: its own session, so a Ctrl-C in the caller's terminal does not reach it (like pg_ctl's server).
setsid "$SEG_VENV/bin/python" "$SEG_SCRIPTS/dev/inference_server.py" --models_dir "$models" --host 127.0.0.1 \
    --http_port "$port" --intra_op_threads "${SEG_INFERENCE_THREADS:-2}" </dev/null >>"$dir/server.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/server.pid"
if ! seg_wait_http "$(url_for "$port")/v2/health/ready" 200 "${SEGHUB_INFERENCE_START_SECONDS:-120}" "$pid" "$dir/server.log" >&2; then
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$dir/server.pid"
    die "the server did not become ready (see $dir/server.log)"
fi
url_for "$port"
