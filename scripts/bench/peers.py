#!/usr/bin/env python3
"""Times SegHub's peers on one thread, printing the same JSON as `segctl bench`.

Usage: peers.py PEER OPERATION FILE [REPEAT]
  PEER/OPERATION: opencv decode | pillow decode | opencv trace | opencv simplify |
                  opencv segment (GaussianBlur + Otsu + findContours + per-contour metrics) |
                  opencv decode-unchanged (cv2.imdecode IMREAD_UNCHANGED: 16-bit TIFFs as stored) |
                  tifffile decode (tifffile.imread from memory; imagecodecs for LZW)
"""
import io
import json
import statistics
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)


def timed(fn, repeat):
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main():
    peer, op, path = sys.argv[1], sys.argv[2], sys.argv[3]
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    data = open(path, "rb").read()
    buf = np.frombuffer(data, np.uint8)
    gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    h, w = gray.shape
    if peer == "opencv" and op == "decode-unchanged":
        sec = timed(lambda: cv2.imdecode(buf, cv2.IMREAD_UNCHANGED), repeat)
    elif peer == "tifffile" and op == "decode":
        import tifffile

        sec = timed(lambda: tifffile.imread(io.BytesIO(data)), repeat)
    elif peer == "opencv" and op == "decode":
        sec = timed(lambda: cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE), repeat)
    elif peer == "pillow" and op == "decode":
        from PIL import Image

        def run():
            im = Image.open(io.BytesIO(data))
            im.draft("L", im.size)  # decode colour JPEGs straight to gray, like libjpeg's JCS_GRAYSCALE
            im.convert("L").load()

        sec = timed(run, repeat)
    elif peer == "opencv" and op == "trace":
        mask = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if mask.ndim == 3:
            mask = mask.max(axis=2)
        sec = timed(lambda: cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE), repeat)
    elif peer == "opencv" and op == "simplify":
        mask = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        contours, _ = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        sec = timed(lambda: [cv2.approxPolyDP(c, 2.0, True) for c in contours], repeat)
    elif peer == "opencv" and op == "segment":
        def run():
            blur = cv2.GaussianBlur(gray, (0, 0), 2)
            _, m = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
            contours, _ = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
            for c in contours:
                a = cv2.contourArea(c)
                if a < 50:
                    continue
                cv2.arcLength(cv2.approxPolyDP(c, 2, True), True)
                hull = cv2.convexHull(c)
                cv2.contourArea(hull)
                cv2.minAreaRect(c)
                cv2.boundingRect(c)
                if len(c) >= 5:
                    cv2.fitEllipse(c)

        sec = timed(run, repeat)
    else:
        sys.exit(f"unknown peer/operation {peer} {op}")
    print(json.dumps({"operation": op, "peer": peer, "file": path, "width": w, "height": h, "repeat": repeat,
                      "medianSeconds": sec, "megapixelsPerSecond": w * h / 1e6 / sec}))


if __name__ == "__main__":
    main()
