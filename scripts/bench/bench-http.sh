#!/usr/bin/env bash
# Measures segserver over HTTP on this machine, everything in one run (release builds):
#   1. requests per second and p99 latency (wrk) of `GET /health` on a bare Hummingbird route
#      (seg-bare-http) and on segserver with its whole middleware stack, and of an authenticated
#      `GET /api/v1/images/{id}/segmentation` (JWT check, permission query, stored JSON);
#   2. upload throughput in MB/s for 50 generated spheroid images of about 5 MB each;
#   3. images segmented per second end to end (queue → workers → stored results) with all
#      workers, next to `segctl segment --jobs N` on the same files;
#   4. the same with the bundled model (models/seghub-unet.onnx) on the reference inference server
#      (scripts/dev/inference.sh, onnxruntime with one thread per request), with binary and with JSON
#      tensors, next to a direct Python loop calling onnxruntime in N processes on the same images
#      (scripts/bench/onnx_loop.py: the same pre- and post-processing, no server, no database).
# A batch's time runs from the request that queues it to the last stored result (PostgreSQL's clock,
# the same machine's); the script waits for it with one polling process, so that the waiting costs
# the server next to nothing. Prints a table with the ratios. Nothing here is a test: no figure fails
# the script.
# Usage: scripts/bench/bench-http.sh [--images N] [--duration SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

images=50
duration=10
while [ $# -gt 0 ]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        *) echo "usage: scripts/bench/bench-http.sh [--images N] [--duration SECONDS]" >&2; exit 64 ;;
    esac
done

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 wrk
seg_venv numpy opencv-python-headless onnxruntime
cores="$(nproc)"

seg_workspace bench
work="$SEG_WORK"
now() { date +%s.%N; }
# cpu_seconds PID...: user+system CPU seconds of the processes (with their reaped children's).
cpu_seconds() {
    python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
total = 0
for pid in sys.argv[1:]:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
print(f"{total / tick:.2f}")
PY
}
postgres_pids() {  # the postmaster and its live children (backends, writers)
    local postmaster
    postmaster="$(head -n 1 "$SEG_PG_DIR/data/postmaster.pid")"
    echo "$postmaster" $(pgrep -P "$postmaster" || true)
}
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

seg_step "bench-http: building release binaries (segserver, segctl, seg-bare-http)"
seg_build -c release --scratch-path .build-release -- segserver segctl seg-bare-http

seg_step "bench-http: generating $images spheroid images of about 5 MB"
"$SEG_VENV/bin/python" scripts/fixtures/make-synthetic.py "$work/base" --size 2900 --sets brightfield >/dev/null
mkdir -p "$work/images"
"$SEG_VENV/bin/python" - "$work/base" "$work/images" "$images" <<'PY'
import glob, sys
import cv2
import numpy as np
base = sorted(p for p in glob.glob(sys.argv[1] + "/brightfield_*.png") if not p.endswith("_gt.png"))
rng = np.random.default_rng(7)
for i in range(int(sys.argv[3])):
    image = cv2.imread(base[i % len(base)], cv2.IMREAD_UNCHANGED).astype(np.int16)
    # Each file differs (the file store keeps one copy of identical files) by sensor-like noise.
    image += rng.integers(-2, 3, image.shape, dtype=np.int16)
    cv2.imwrite(f"{sys.argv[2]}/spheroids_{i:03d}.png", np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
PY
total_bytes="$(cat "$work"/images/*.png | wc -c)"

seg_step "bench-http: starting the reference inference server with the bundled model"
inference_dir="$work/inference"
seg_on_exit() { bash scripts/dev/inference.sh stop "$inference_dir" >/dev/null 2>&1; }
inference_url="$(SEG_INFERENCE_THREADS=1 SEG_INFERENCE_MODELS="$PWD/models" bash scripts/dev/inference.sh start "$inference_dir" "$(seg_free_port)" | tail -n 1)"
# The bundled registry's model twice: with the binary tensor extension (the default) and with JSON tensors.
python3 - models/registry.json "$inference_url" >"$work/registry.json" <<'PY'
import json, sys
registry = json.load(open(sys.argv[1]))
binary = dict(registry["models"][0], server=sys.argv[2])
json.dump({"models": [binary, dict(binary, name=binary["name"] + "-json", binary=False)]}, sys.stdout, indent=1)
PY
model="$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['models'][0]['name'])" "$work/registry.json")"

seg_step "bench-http: starting PostgreSQL, segserver ($cores workers) and seg-bare-http"
seg_start_database "$SEG_PG_DIR"
seg_start_segserver SEG_WORKERS="$cores" SEG_LOG_LEVEL=error SEG_RATE_AUTH=0 SEG_RATE_API=0 SEG_MODELS_FILE="$work/registry.json"
url="$SEG_URL"
server_pid="$SEG_SERVER_PID"
bare_port="$(seg_free_port)"
"$SEG_BIN/seg-bare-http" "$bare_port" >"$work/bare.log" 2>&1 &
bare_pid=$!
seg_track "$bare_pid"
seg_wait_http "http://127.0.0.1:$bare_port/health" 200 30 "$bare_pid" "$work/bare.log"
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
token="$(curl -sf -X POST "$url/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email": "bench@example.org", "password": "benchmark password"}' | json '["accessToken"]')"
auth="Authorization: Bearer $token"
project="$(curl -sf -X POST "$url/api/v1/projects" -H "$auth" -H 'Content-Type: application/json' -d '{"name": "bench"}' | json '["id"]')"

seg_step "bench-http: uploading $images files in one request"
form=()
for f in "$work"/images/*.png; do form+=(-F "files=@$f;type=image/png"); done
start="$(now)"
curl -sf -o "$work/upload.json" -H "$auth" "${form[@]}" "$url/api/v1/projects/$project/images"
upload_seconds="$(elapsed "$start" "$(now)")"
stored="$(json '["items"].__len__()' <"$work/upload.json")"
[ "$stored" = "$images" ] || { echo "bench-http: only $stored of $images images stored" >&2; cat "$work/upload.json" >&2; exit 1; }
image="$(json '["items"][0]["id"]' <"$work/upload.json")"

# segment_batch SEGMENTER: queues every image of the project for SEGMENTER and waits until the queue is
# empty. Prints "SECONDS OBJECTS SEGSERVER_CPU POSTGRES_CPU INFERENCE_CPU": from the request to the last
# stored version (PostgreSQL's clock), the objects found, and the CPU seconds of segserver, PostgreSQL and
# the inference server meanwhile.
segment_batch() {
    local server_cpu postgres_cpu inference_cpu start queued failed
    # Every image by id (without ids only the images not yet segmented are queued).
    python3 -c 'import json, sys; print(json.dumps({"segmenter": sys.argv[1], "imageIds": [i["id"] for i in json.load(sys.stdin)["items"]]}))' \
        "$1" <"$work/upload.json" >"$work/batch.json"
    server_cpu="$(cpu_seconds "$server_pid")"
    postgres_cpu="$(cpu_seconds $(postgres_pids))"
    inference_cpu="$(cpu_seconds "$(cat "$inference_dir/server.pid")")"
    start="$(now)"
    queued="$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d @"$work/batch.json" \
        "$url/api/v1/projects/$project/segmentations" | json '["queued"]')"
    [ "$queued" = "$images" ] || { echo "bench-http: $queued of $images images queued for $1" >&2; exit 1; }
    failed="$(python3 - "$url/api/v1/queue" "$token" <<'PY'
import json, sys, time, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
while True:
    stats = json.load(urllib.request.urlopen(request))
    if stats["queued"] == 0 and stats["processing"] == 0:
        print(stats["failed"])
        break
    time.sleep(0.2)
PY
)"
    [ "$failed" = "0" ] || { echo "bench-http: $failed segmentations failed ($1)" >&2; exit 1; }
    server_cpu="$(elapsed "$server_cpu" "$(cpu_seconds "$server_pid")")"
    postgres_cpu="$(elapsed "$postgres_cpu" "$(cpu_seconds $(postgres_pids))")"
    inference_cpu="$(elapsed "$inference_cpu" "$(cpu_seconds "$(cat "$inference_dir/server.pid")")")"
    psql "$SEG_DB_URL" -Atc "SELECT round(extract(epoch FROM max(created_at)) - $start, 3), sum(polygon_count), $server_cpu, $postgres_cpu, $inference_cpu
        FROM segmentations WHERE segmenter = '$1' AND created_at >= to_timestamp($start)" | tr '|' ' '
}
# cli_batch ARG...: `segctl segment --jobs N` on the images; prints "SECONDS CPU_SECONDS".
cli_batch() {
    local start seconds
    start="$(now)"
    /usr/bin/time -f "%U %S" -o "$work/cli.time" "$SEG_BIN/segctl" segment --jobs "$cores" --out "$work/cli" "$@" "$work"/images/*.png >/dev/null 2>&1
    seconds="$(elapsed "$start" "$(now)")"
    echo "$seconds $(awk '{printf "%.2f", $1 + $2}' "$work/cli.time")"
    rm -rf "$work/cli"
}

seg_step "bench-http: segmenting $images images with $cores workers, built-in segmenter"
builtin_server="$(segment_batch builtin)"
seg_step "bench-http: segctl segment --jobs $cores on the same files"
builtin_cli="$(cli_batch)"

seg_step "bench-http: segmenting $images images with the model ($model), binary and JSON tensors"
model_binary="$(segment_batch "$model")"
model_json="$(segment_batch "$model-json")"
model_cli="$(cli_batch --model "$model" --models "$work/registry.json")"
seg_step "bench-http: the direct Python loop (onnxruntime, $cores processes) on the same files"
model_python="$("$SEG_VENV/bin/python" scripts/bench/onnx_loop.py models/seghub-unet.onnx "$work/registry.json" "$model" "$cores" "$work"/images/*.png)"

seg_step "bench-http: wrk, $duration s each, 2 threads, 64 connections"
run_wrk() {  # run_wrk NAME URL [HEADER]
    local out
    if [ $# -ge 3 ]; then out="$(wrk -t2 -c64 -d"${duration}s" --latency -H "$3" "$2")"; else out="$(wrk -t2 -c64 -d"${duration}s" --latency "$2")"; fi
    local rps p99 errors
    rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    p99="$(echo "$out" | awk '$1 == "99%" {print $2}')"
    errors="$(echo "$out" | awk '/Non-2xx/ {print $NF}')"
    printf '%s %s %s %s\n' "$1" "$rps" "$p99" "${errors:-0}"
}
bare="$(run_wrk bare-health "http://127.0.0.1:$bare_port/health")"
health="$(run_wrk segserver-health "$url/health")"
segmentation="$(run_wrk segserver-segmentation "$url/api/v1/images/$image/segmentation" "$auth")"

python3 - "$bare" "$health" "$segmentation" "$images" "$total_bytes" "$upload_seconds" "$cores" "$builtin_server" "$builtin_cli" \
    "$model_binary" "$model_json" "$model_cli" "$model_python" <<'PY'
import json, sys
rows = [a.split() for a in sys.argv[1:4]]
images, total, upload, cores = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
builtin, builtin_cli = [float(v) for v in sys.argv[8].split()], [float(v) for v in sys.argv[9].split()]
binary, textual = [float(v) for v in sys.argv[10].split()], [float(v) for v in sys.argv[11].split()]
model_cli, python = [float(v) for v in sys.argv[12].split()], json.loads(sys.argv[13])
print("\nHTTP (wrk -t2 -c64)              requests/s     p99   non-2xx")
for name, rps, p99, errors in rows:
    print(f"  {name:<30} {float(rps):>10.0f} {p99:>8} {errors:>8}")
bare, health = float(rows[0][1]), float(rows[1][1])
print(f"  segserver /health vs bare route: {health / bare:.2f}x the requests/s (middleware cost {100 * (1 - health / bare):.0f}%)")
print(f"\nUpload: {images} files, {total / 1e6:.1f} MB in {upload:.2f} s = {total / 1e6 / upload:.1f} MB/s")
print(f"\nSegmentation of {images} images, {cores} workers        seconds  images/s  objects  CPU ms/image (segserver + PostgreSQL + inference server)")
def line(name, seconds, objects="", cpu=""):
    print(f"  {name:<45} {seconds:>7.2f} {images / seconds:>9.2f} {objects:>8} {cpu}")
line("segserver, built-in segmenter", builtin[0], f"{builtin[1]:.0f}", f"{builtin[2] / images * 1000:.0f} + {builtin[3] / images * 1000:.0f}")
line(f"segctl segment --jobs {cores}", builtin_cli[0], "", f"{builtin_cli[1] / images * 1000:.0f}")
print(f"  server / CLI rate: {builtin_cli[0] / builtin[0]:.2f}")
for name, batch in (("segserver, model, binary tensors", binary), ("segserver, model, JSON tensors", textual)):
    line(name, batch[0], f"{batch[1]:.0f}", " + ".join(f"{v / images * 1000:.0f}" for v in batch[2:5]))
line(f"segctl segment --model --jobs {cores} (binary)", model_cli[0], "", f"{model_cli[1] / images * 1000:.0f}")
line(f"Python loop, onnxruntime, {cores} processes", python["seconds"], str(python["objects"]))
print(f"  segserver with the model / Python loop rate: binary {python['seconds'] / binary[0]:.2f}, JSON {python['seconds'] / textual[0]:.2f}")
print(f"  JSON / binary tensors rate: {binary[0] / textual[0]:.2f}")
PY
