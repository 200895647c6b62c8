#!/usr/bin/env python3
"""Writes samples/spheroids.jpg, the bundled sample image that scripts/run.sh segments:
a 1024² brightfield-like scene of dark spheroids (some with necrotic cores) on an unevenly lit
background. Deterministic. Usage: scripts/make-sample.py"""
import pathlib
import sys

import cv2

sys.path.insert(0, str(pathlib.Path(__file__).parent / "bench"))
from make_corpus import spheroid_scene  # noqa: E402

root = pathlib.Path(__file__).resolve().parent.parent
image, _ = spheroid_scene(1024, 12, 7)
(root / "samples").mkdir(exist_ok=True)
cv2.imwrite(str(root / "samples" / "spheroids.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 88])
