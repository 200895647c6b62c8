#!/usr/bin/env bash
# The S3 object store against the file store, on the same machine and inputs in one run (release build): segserver
# on the file store, then on SeaweedFS (scripts/dev/seaweedfs.sh, Signature V4 checked), each measured for
#   1. upload MB/s: IMAGES generated spheroid images of about 5 MB, 4 requests at a time, one file each;
#   2. download MB/s: every original downloaded once, 4 at a time;
#   3. images segmented per second end to end (queue → workers → stored results), all workers.
# The stores take turns, ROUNDS times each in the order file, s3, s3, file, … (so that a drift of the machine falls on
# both alike), each on a fresh schema and data directory. Prints a table of the means with S3/file ratios (the goals of
# issue 17: uploads ≥ 0.7×, segmentation ≥ 0.9×), each round's ratios, and the CPU seconds per image that segserver
# and SeaweedFS used in each phase. Nothing here is a test: no figure fails the script.
# Usage: scripts/bench/bench-store.sh [--images N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

images=48
rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "usage: scripts/bench/bench-store.sh [--images N] [--rounds N]" >&2; exit 64 ;;
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

# measure NAME SETTING...: a segserver with the settings, on a fresh database schema and data directory; writes
# store_load.py's JSON to $work/NAME.json.
measure() {
    local name="$1"
    shift
    psql "$SEG_DB_URL" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
    rm -rf "$work/data-$name"
    seg_start_segserver SEG_WORKERS="$cores" SEG_LOG_LEVEL=error SEG_RATE_AUTH=0 SEG_RATE_API=0 SEG_DATA_DIR="$work/data-$name" "$@"
    "$SEG_VENV/bin/python" scripts/bench/store_load.py "$SEG_URL" "$work/images" segserver="$SEG_SERVER_PID" \
        seaweedfs="$(cat "$work/s3/server.pid")" >"$work/$name.json"
    seg_stop "$SEG_SERVER_PID" || true
}
for round in $(seq 1 "$rounds"); do
    order=(file s3)
    [ $((round % 2)) -eq 0 ] && order=(s3 file)
    for store in "${order[@]}"; do
        seg_step "bench-store: round $round of $rounds, the $store store"
        if [ "$store" = file ]; then
            measure "file-$round" SEG_OBJECT_STORE=file
        else
            measure "s3-$round" "${s3_settings[@]}" SEG_S3_PREFIX="bench-$round"
        fi
    done
done

python3 - "$work" "$rounds" <<'PY'
import json, sys
work, rounds = sys.argv[1], int(sys.argv[2])
runs = {store: [json.load(open(f"{work}/{store}-{r}.json")) for r in range(1, rounds + 1)] for store in ("file", "s3")}
first = runs["file"][0]
images, total = first["images"], first["bytes"]
amounts = {"upload": (total / 1e6, "MB/s"), "download": (total / 1e6, "MB/s"), "segment": (images, "images/s")}
names = {"upload": "upload (4 at a time)", "download": "download (4 at a time)", "segment": "segmentation end to end"}
print(f"\n{images} images, {total / 1e6:.1f} MB in all; {rounds} round(s) per store, means")
print(f"  {'':<26} {'file':>10} {'s3':>10}  {'':<9} {'s3/file':>7}   each round")
for phase, (amount, unit) in amounts.items():
    rate = {store: sum(amount / run[phase] for run in runs[store]) / rounds for store in runs}
    each = " ".join(f"{(runs['file'][r][phase] / runs['s3'][r][phase]):.2f}×" for r in range(rounds))
    print(f"  {names[phase]:<26} {rate['file']:>10.1f} {rate['s3']:>10.1f}  {unit:<9} {rate['s3'] / rate['file']:>6.2f}×   {each}")
print(f"\nCPU seconds per image (means): segserver / SeaweedFS")
for phase in amounts:
    cells = []
    for store in runs:
        cpu = {name: sum(run[phase + "_cpu"][name] for run in runs[store]) / rounds / images for name in ("segserver", "seaweedfs")}
        cells.append(f"{store}: {cpu['segserver']:.3f} / {cpu['seaweedfs']:.3f}")
    print(f"  {names[phase]:<26} " + "   ".join(cells))
PY
