#!/usr/bin/env bash
# Runs SegHub's main job on this machine: builds segctl (release) and segments the bundled
# sample image with the built-in segmenter, writing JSON, CSV, GeoJSON and a mask under
# .seghub/out/. (The HTTP server arrives with later work; this script will then start it.)
# Usage: scripts/run.sh [IMAGE...]   (default: samples/spheroids.jpg)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev pkg-config

seg_step "building segctl (release; the first build takes a few minutes)"
swift build -c release --product segctl >/dev/null
SEGCTL="$(swift build -c release --show-bin-path)/segctl"

IMAGES=("$@")
[ ${#IMAGES[@]} -eq 0 ] && IMAGES=(samples/spheroids.jpg)
OUT=.seghub/out
mkdir -p "$OUT"
for format in json csv geojson mask; do
    "$SEGCTL" segment "${IMAGES[@]}" --out "$OUT" --format "$format"
done
seg_step "results"
ls -1 "$OUT" >&2
"$SEGCTL" segment "${IMAGES[0]}" --format csv | cut -d, -f1-6 | head -n 15
echo
echo "Results are in $(pwd)/$OUT"
