#!/usr/bin/env bash
# Measures SegHub against its peers on the same files in one run, on one pinned core:
# tracing vs cv2.findContours, decoding vs cv2.imdecode / Pillow / djpeg, 16-bit TIFF decoding vs
# tifffile.imread / cv2.imdecode(IMREAD_UNCHANGED), simplification vs cv2.approxPolyDP,
# segmentation vs an OpenCV blur+Otsu+contours pipeline (and against SegHub's own decode time, with
# the spheroid and nuclei presets), segmenter accuracy vs that pipeline, and peak memory. Prints a
# table with ratios (>1 means SegHub is faster).
# Usage: scripts/bench/bench-vs-peers.sh [REPEAT]   (results also in bench-out/results.jsonl)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh
REPEAT="${1:-10}"
OUT=bench-out
CORPUS="$OUT/corpus"

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config libjpeg-turbo-progs time util-linux
seg_venv opencv-python-headless numpy Pillow tifffile imagecodecs
PY="$SEG_VENV/bin/python"

seg_step "building segctl (release)"
seg_build -c release -- segctl
SEGCTL="$SEG_BIN/segctl"

if [ ! -f "$CORPUS/mask-many-8192.png" ] || [ ! -f "$CORPUS/nuclei-4096-u16-lzw.tif" ]; then
    seg_step "generating the corpus in $CORPUS"
    "$PY" scripts/bench/make_corpus.py "$CORPUS"
fi
: > "$OUT/results.jsonl"
PIN=(taskset -c 0)

ours() { "${PIN[@]}" "$SEGCTL" bench "$1" "$2" --repeat "$REPEAT" "${@:3}"; }
peer() { "${PIN[@]}" "$PY" scripts/bench/peers.py "$1" "$2" "$3" "$REPEAT"; }
seconds() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["medianSeconds"])' "$1"; }
ratio() { "$PY" -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f"{b/a:6.2f}x")' "$1" "$2"; }
row() { printf '%-10s %-32s %-18s %10.2f ms %10.2f ms  %s\n' "$1" "$2" "$3" "$(awk "BEGIN{print $4*1000}")" "$(awk "BEGIN{print $5*1000}")" "$(ratio "$4" "$5")"; }

printf '%-10s %-32s %-18s %13s %13s  %s\n' step file peer SegHub peer "peer/SegHub"
TRACE_FILES="${TRACE_FILES:-mask-spheroids-1024.png mask-spheroids-4096.png mask-many-8192.png mask-noise-2048.png mask-checkerboard-1024.png}"
for f in $TRACE_FILES; do
    o=$(ours trace "$CORPUS/$f")
    # OpenCV's hierarchy building takes ~25 s a run on the checkerboard: time it once.
    case "$f" in *checkerboard*) p=$("${PIN[@]}" "$PY" scripts/bench/peers.py opencv trace "$CORPUS/$f" 1);;
                 *) p=$(peer opencv trace "$CORPUS/$f");; esac
    echo "$o" >> "$OUT/results.jsonl"; echo "$p" >> "$OUT/results.jsonl"
    row trace "$f" "cv2.findContours" "$(seconds "$o")" "$(seconds "$p")"
done
for f in mask-spheroids-1024.png mask-spheroids-4096.png mask-many-8192.png; do
    o=$(ours simplify "$CORPUS/$f"); p=$(peer opencv simplify "$CORPUS/$f")
    echo "$o" >> "$OUT/results.jsonl"; echo "$p" >> "$OUT/results.jsonl"
    row simplify "$f" "cv2.approxPolyDP" "$(seconds "$o")" "$(seconds "$p")"
done
for f in spheroids-1024.jpg spheroids-4096.jpg spheroids-1024-color.jpg spheroids-4096-color.jpg \
         spheroids-1024.png spheroids-4096.png spheroids-1024-color.png spheroids-4096-color.png; do
    o=$(ours decode "$CORPUS/$f"); so=$(seconds "$o"); echo "$o" >> "$OUT/results.jsonl"
    p=$(peer opencv decode "$CORPUS/$f"); echo "$p" >> "$OUT/results.jsonl"
    row decode "$f" "cv2.imdecode" "$so" "$(seconds "$p")"
    p=$(peer pillow decode "$CORPUS/$f"); echo "$p" >> "$OUT/results.jsonl"
    row decode "$f" "PIL" "$so" "$(seconds "$p")"
    if [[ "$f" == *.jpg ]]; then
        # djpeg to /dev/null, gray output: the whole process, so it includes start-up (a few ms).
        row decode "$f" "djpeg (process)" "$so" "$("$PY" scripts/bench/djpeg_time.py "$CORPUS/$f" "$REPEAT")"
    fi
done
# 16-bit TIFF (4096², a nuclei field): decoded at full precision by all three.
for f in nuclei-4096-u16.tif nuclei-4096-u16-lzw.tif; do
    o=$(ours decode "$CORPUS/$f"); so=$(seconds "$o"); echo "$o" >> "$OUT/results.jsonl"
    p=$(peer tifffile decode "$CORPUS/$f"); echo "$p" >> "$OUT/results.jsonl"
    row decode "$f" "tifffile.imread" "$so" "$(seconds "$p")"
    p=$(peer opencv decode-unchanged "$CORPUS/$f"); echo "$p" >> "$OUT/results.jsonl"
    row decode "$f" "cv2.imdecode UNCHANGED" "$so" "$(seconds "$p")"
done
quotient() { "$PY" -c 'import sys; print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")' "$1" "$2"; }
for f in spheroids-1024.jpg spheroids-4096.jpg; do
    o=$(ours segment "$CORPUS/$f"); p=$(peer opencv segment "$CORPUS/$f")
    echo "$o" >> "$OUT/results.jsonl"; echo "$p" >> "$OUT/results.jsonl"
    row segment "$f" "cv2 blur+Otsu+contours" "$(seconds "$o")" "$(seconds "$p")"
done
# Segmenting against the same image's own decode (goals: spheroid preset < 2x, declumping < 4x).
for f in spheroids-4096.jpg nuclei-4096-u16.tif nuclei-4096-u16-lzw.tif; do
    dec=$(seconds "$(ours decode "$CORPUS/$f")")
    for run in "--preset spheroid" "--preset spheroid --declump" "--preset nuclei"; do
        # shellcheck disable=SC2086
        o=$(ours segment "$CORPUS/$f" $run); echo "$o" >> "$OUT/results.jsonl"
        printf '%-10s %-32s %-28s segment %8.1f ms  decode %7.1f ms  segment/decode %s\n' ratio "$f" "$run" \
            "$(awk "BEGIN{print $(seconds "$o")*1000}")" "$(awk "BEGIN{print $dec*1000}")" "$(quotient "$(seconds "$o")" "$dec")"
    done
done

seg_step "peak memory: segctl segment on the 8192² mask"
/usr/bin/time -f '%M' -o "$OUT/rss-segment.txt" "$SEGCTL" segment "$CORPUS/mask-many-8192.png" --polarity bright --jobs 1 > /dev/null
/usr/bin/time -f '%M' -o "$OUT/rss-base.txt" "$SEGCTL" bench decode "$CORPUS/spheroids-1024.png" --repeat 1 > /dev/null
"$PY" - "$OUT/rss-segment.txt" "$OUT/rss-base.txt" <<'PYEOF'
import sys
peak = int(open(sys.argv[1]).read().split()[-1]) * 1024
base = int(open(sys.argv[2]).read().split()[-1]) * 1024
pixels = 8192 * 8192
print(f"peak RSS {peak/2**20:.0f} MiB; process baseline {base/2**20:.0f} MiB; "
      f"{(peak - base - pixels)/pixels:.2f} bytes per pixel above the 8-bit image itself (target < 4)")
PYEOF

seg_step "segmenter accuracy vs the OpenCV blur+Otsu baseline (synthetic ground truth, 1024²)"
if [ ! -f "$OUT/synthetic-1024/manifest.json" ]; then
    "$PY" scripts/fixtures/make-synthetic.py "$OUT/synthetic-1024" --size 1024 >/dev/null
fi
"$PY" scripts/bench/accuracy.py "$SEGCTL" "$OUT/synthetic-1024"
