#!/usr/bin/env python3
"""Plain OpenCV baseline for the built-in segmenter's synthetic fixtures.

Usage: segment_baseline.py [FIXTURE_DIR]   (default Tests/SegCoreTests/Fixtures/segment)

For every image in FIXTURE_DIR/manifest.json: GaussianBlur (sigma 2, as our default) + Otsu,
objects as the dark side and as the bright side, whichever scores better against the ground
truth (fair to the baseline: it gets the polarity for free), then findContours(RETR_EXTERNAL)
drawn filled. Writes FIXTURE_DIR/baseline.json with the IoU per image and the mean per set;
SegmenterTests asserts that our defaults do at least as well on every set.
"""
import json
import os
import sys

import cv2
import numpy as np


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def segment(img, dark):
    blur = cv2.GaussianBlur(img, (0, 0), 2.0)
    mode = cv2.THRESH_BINARY_INV if dark else cv2.THRESH_BINARY
    _, binary = cv2.threshold(blur, 0, 255, mode | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(binary)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled > 0


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "Tests/SegCoreTests/Fixtures/segment"
    manifest = json.load(open(os.path.join(root, "manifest.json")))
    images, sets = {}, {}
    for entry in manifest["images"]:
        img = cv2.imread(os.path.join(root, entry["name"] + ".png"), cv2.IMREAD_GRAYSCALE)
        gt = cv2.imread(os.path.join(root, entry["name"] + "_gt.png"), cv2.IMREAD_GRAYSCALE) > 0
        score = max(iou(segment(img, True), gt), iou(segment(img, False), gt))
        images[entry["name"]] = round(score, 4)
        sets.setdefault(entry["set"], []).append(score)
    out = {"generator": "scripts/reference/segment_baseline.py", "opencv": cv2.__version__,
           "method": "GaussianBlur sigma 2 + Otsu, better polarity, RETR_EXTERNAL filled",
           "images": images, "sets": {k: round(sum(v) / len(v), 4) for k, v in sets.items()}}
    with open(os.path.join(root, "baseline.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for k, v in out["sets"].items():
        print(f"{k:14s} {v:.4f}")


if __name__ == "__main__":
    main()
