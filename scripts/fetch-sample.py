#!/usr/bin/env python3
"""Copies scikit-image's bundled `cell.png` (CC0) into the segmenter fixtures at half size.

Usage: fetch-sample.py [OUT_DIR]   (default Tests/SegCoreTests/Fixtures/segment)
Needs `pip install scikit-image` (0.26 ships skimage/data/cell.png inside the wheel, listed in
its RECORD; nothing is downloaded at run time). The image is a quantitative phase image of one
cell floating in saline (0.107 µm/px at full size), dedicated to the public domain (CC0) per
`skimage.data.cell`'s documentation.

The expected object in cell.json was measured by hand on the full-size image, independently of
SegHub: intensity profiles through the bright disk (row 373 and column 428) cross the midpoint
between the dark halo (~15) and the cell (~200) at x ≈ 362 and 492, y ≈ 312 and 436; OpenCV's
HoughCircles on the blurred image agrees: centre (427.5, 373.5), radius 62.4. Halved for the
fixture (half-pixel i covers full pixels 2i and 2i+1, so half = (full - 0.5) / 2): centre (213.5, 186.5), diameter about 63 px.
"""
import json
import os
import sys

import cv2
import skimage

SOURCE = os.path.join(os.path.dirname(skimage.__file__), "data", "cell.png")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/SegCoreTests/Fixtures/segment"
    img = cv2.imread(SOURCE, cv2.IMREAD_GRAYSCALE)
    half = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(out, "cell.png"), half, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    expected = {
        "source": f"scikit-image {skimage.__version__} skimage/data/cell.png (CC0), downscaled 2x with INTER_AREA",
        "measured": "by hand on the full-size image (intensity profiles + cv2.HoughCircles), halved; see scripts/fetch-sample.py",
        "width": half.shape[1], "height": half.shape[0],
        "centreX": 213.5, "centreY": 186.5, "diameter": 63.0,
        "centreTolerance": 4.0, "diameterTolerance": 7.0,
    }
    with open(os.path.join(out, "cell.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
