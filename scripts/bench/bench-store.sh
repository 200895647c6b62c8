#!/usr/bin/env bash
# The S3 object store against the file store, on the same machine and inputs in one run (release build): segserver
# on the file store, then on SeaweedFS (scripts/dev/seaweedfs.sh, Signature V4 checked), each measured for
#   1. upload MB/s: IMAGES generated spheroid images of about 5 MB, 4 requests at a time, one file each;
#   2. download MB/s: every original downloaded once, 4 at a time;
#   3. images segmented per second end to end (queue → workers → stored results), all workers.
# Prints a table with S3/file ratios (the goals of issue 17: uploads ≥ 0.7×, segmentation ≥ 0.9×). Nothing here is a
# test: no figure fails the script.
# Usage: scripts/bench/bench-store.sh [--images N]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

images=24
while [ $# -gt 0 ]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        *) echo "usage: scripts/bench/bench-store.sh [--images N]" >&2; exit 64 ;;
    esac
done

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3
seg_venv numpy opencv-python-headless
cores="$(nproc)"
seg_workspace bench-store
work="$SEG_WORK"
seg_on_exit() { bash scripts/dev/seaweedfs.sh stop "$work/s3" >/dev/null 2>&1 || true; }

seg_step "bench-store: building the release segserver"
seg_build -c release --scratch-path .build-release -- segserver

seg_step "bench-store: generating $images spheroid images of about 5 MB"
"$SEG_VENV/bin/python" scripts/fixtures/make-synthetic.py "$work/base" --size 2900 --sets brightfield >/dev/null
mkdir -p "$work/images"
"$SEG_VENV/bin/python" - "$work/base" "$work/images" "$images" <<'PY'
import glob, sys
import cv2
import numpy as np
base = sorted(p for p in glob.glob(sys.argv[1] + "/brightfield_*.png") if not p.endswith("_gt.png"))
rng = np.random.default_rng(11)
for i in range(int(sys.argv[3])):
    image = cv2.imread(base[i % len(base)], cv2.IMREAD_UNCHANGED).astype(np.int16)
    image += rng.integers(-2, 3, image.shape, dtype=np.int16)  # every file distinct: stores keep one copy of each
    cv2.imwrite(f"{sys.argv[2]}/spheroids_{i:03d}.png", np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
PY

seg_step "bench-store: PostgreSQL and SeaweedFS"
seg_start_database "$SEG_PG_DIR"
bash scripts/dev/seaweedfs.sh start "$work/s3" "$(seg_free_ports 8)" >/dev/null
s3_settings=()
while IFS= read -r line; do [ -n "$line" ] && s3_settings+=("$line"); done <"$work/s3/s3.env"

# measure NAME SETTING...: a segserver with the settings, on a fresh database schema; writes
# "UPLOAD_SECONDS DOWNLOAD_SECONDS SEGMENT_SECONDS BYTES" to $work/NAME.result.
measure() {
    local name="$1"
    shift
    psql "$SEG_DB_URL" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
    seg_start_segserver SEG_WORKERS="$cores" SEG_LOG_LEVEL=error SEG_RATE_AUTH=0 SEG_RATE_API=0 SEG_DATA_DIR="$work/data-$name" "$@"
    "$SEG_VENV/bin/python" scripts/bench/store_load.py "$SEG_URL" "$work/images" >"$work/$name.result"
    seg_stop "$SEG_SERVER_PID" || true
}
seg_step "bench-store: the file store"
measure file SEG_OBJECT_STORE=file
seg_step "bench-store: the S3 store (SeaweedFS on this machine)"
measure s3 "${s3_settings[@]}" SEG_S3_PREFIX=bench

python3 - "$(cat "$work/file.result")" "$(cat "$work/s3.result")" "$images" <<'PY'
import sys
file, s3 = ([float(v) for v in a.split()] for a in sys.argv[1:3])
images, total = int(sys.argv[3]), file[3]
def row(name, index, unit, amount):
    f, s = amount / file[index], amount / s3[index]
    print(f"  {name:<28} {f:>10.1f} {s:>10.1f}  {unit:<9} {s / f:>6.2f}×")
print(f"\n{images} images, {total / 1e6:.1f} MB in all          file         s3              s3/file")
row("upload (4 at a time)", 0, "MB/s", total / 1e6)
row("download (4 at a time)", 1, "MB/s", total / 1e6)
row("segmentation end to end", 2, "images/s", images)
PY
