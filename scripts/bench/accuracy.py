#!/usr/bin/env python3
"""Segmenter accuracy, SegHub vs a plain OpenCV pipeline, on synthetic images with known ground truth.

Usage: accuracy.py SEGCTL DIR   (DIR holds make-synthetic.py output: manifest.json, NAME.png, NAME_gt.png)
Runs `segctl segment --format mask` with the defaults on every image and the OpenCV baseline of
scripts/fixtures/reference/segment_baseline.py (GaussianBlur + Otsu, given the better polarity for free),
and prints the IoU per set for both."""
import json
import pathlib
import subprocess
import sys
import tempfile

import cv2
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "reference"))
from segment_baseline import iou, segment  # noqa: E402


def main():
    segctl, root = sys.argv[1], pathlib.Path(sys.argv[2])
    manifest = json.loads((root / "manifest.json").read_text())
    ours, base = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        names = [e["name"] for e in manifest["images"]]
        subprocess.run([segctl, "segment", *[str(root / f"{n}.png") for n in names], "--format", "mask", "--out", tmp],
                       check=True)
        for entry in manifest["images"]:
            n = entry["name"]
            gt = cv2.imread(str(root / f"{n}_gt.png"), cv2.IMREAD_GRAYSCALE) > 0
            img = cv2.imread(str(root / f"{n}.png"), cv2.IMREAD_GRAYSCALE)
            mask = cv2.imread(str(pathlib.Path(tmp) / f"{n}.png"), cv2.IMREAD_UNCHANGED) > 0
            ours.setdefault(entry["set"], []).append(iou(mask, gt))
            base.setdefault(entry["set"], []).append(max(iou(segment(img, True), gt), iou(segment(img, False), gt)))
    print(f"{'set':14s} {'SegHub IoU':>10s} {'OpenCV IoU':>10s}  images ({manifest['size']}²)")
    for k in ours:
        print(f"{k:14s} {np.mean(ours[k]):10.4f} {np.mean(base[k]):10.4f}  {len(ours[k])}")


if __name__ == "__main__":
    main()
