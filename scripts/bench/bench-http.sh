#!/usr/bin/env bash
# Measures segserver over HTTP on this machine, everything in one run (release builds):
#   1. requests per second and p99 latency (wrk) of `GET /health` on a bare Hummingbird route
#      (seg-bare-http) and on segserver with its whole middleware stack, and of an authenticated
#      `GET /api/v1/images/{id}/segmentation` (JWT check, permission query, stored JSON);
#   2. upload throughput in MB/s for 50 generated spheroid images of about 5 MB each;
#   3. images segmented per second end to end (queue → workers → stored results) with all
#      workers, next to `segctl segment --jobs N` on the same files.
# Prints a table with the ratios. Nothing here is a test: no figure fails the script.
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
seg_venv numpy opencv-python-headless
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

seg_step "bench-http: starting PostgreSQL, segserver ($cores workers) and seg-bare-http"
seg_start_database "$SEG_PG_DIR"
seg_start_segserver SEG_WORKERS="$cores" SEG_LOG_LEVEL=error SEG_RATE_AUTH=0 SEG_RATE_API=0
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

seg_step "bench-http: segmenting $images images with $cores workers"
server_cpu_before="$(cpu_seconds "$server_pid")"
postgres_cpu_before="$(cpu_seconds $(postgres_pids))"
start="$(now)"
queued="$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{}' "$url/api/v1/projects/$project/segmentations" | json '["queued"]')"
[ "$queued" = "$images" ] || { echo "bench-http: $queued of $images images queued" >&2; exit 1; }
while :; do
    stats="$(curl -sf -H "$auth" "$url/api/v1/queue")"
    [ "$(echo "$stats" | json '["queued"]')" = "0" ] && [ "$(echo "$stats" | json '["processing"]')" = "0" ] && break
    sleep 0.1
done
server_seconds="$(elapsed "$start" "$(now)")"
server_cpu="$(elapsed "$server_cpu_before" "$(cpu_seconds "$server_pid")")"
postgres_cpu="$(elapsed "$postgres_cpu_before" "$(cpu_seconds $(postgres_pids))")"
failed="$(echo "$stats" | json '["failed"]')"
[ "$failed" = "0" ] || { echo "bench-http: $failed segmentations failed" >&2; exit 1; }

seg_step "bench-http: segctl segment --jobs $cores on the same files"
start="$(now)"
/usr/bin/time -f "%U %S" -o "$work/cli.time" "$SEG_BIN/segctl" segment --jobs "$cores" --out "$work/cli" "$work"/images/*.png >/dev/null 2>&1
cli_seconds="$(elapsed "$start" "$(now)")"
cli_cpu="$(awk '{printf "%.2f", $1 + $2}' "$work/cli.time")"

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

python3 - "$bare" "$health" "$segmentation" "$images" "$total_bytes" "$upload_seconds" "$server_seconds" "$cli_seconds" "$cores" "$server_cpu" "$postgres_cpu" "$cli_cpu" <<'PY'
import sys
rows = [a.split() for a in sys.argv[1:4]]
images, total, upload, server, cli, cores = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
server_cpu, postgres_cpu, cli_cpu = float(sys.argv[10]), float(sys.argv[11]), float(sys.argv[12])
print("\nHTTP (wrk -t2 -c64)              requests/s     p99   non-2xx")
for name, rps, p99, errors in rows:
    print(f"  {name:<30} {float(rps):>10.0f} {p99:>8} {errors:>8}")
bare, health = float(rows[0][1]), float(rows[1][1])
print(f"  segserver /health vs bare route: {health / bare:.2f}x the requests/s (middleware cost {100 * (1 - health / bare):.0f}%)")
print(f"\nUpload: {images} files, {total / 1e6:.1f} MB in {upload:.2f} s = {total / 1e6 / upload:.1f} MB/s")
print(f"Segmentation with {cores} workers: {images} images in {server:.2f} s = {images / server:.2f} images/s")
print(f"segctl segment --jobs {cores}:       {images} images in {cli:.2f} s = {images / cli:.2f} images/s")
print(f"  server / CLI rate: {cli / server:.2f}")
print(f"CPU per image: segserver {server_cpu / images * 1000:.0f} ms + PostgreSQL {postgres_cpu / images * 1000:.0f} ms, segctl {cli_cpu / images * 1000:.0f} ms")
PY
