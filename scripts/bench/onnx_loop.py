#!/usr/bin/env python3
"""The peer of segserver's model path: a direct Python loop calling onnxruntime on the same images and model.

Usage: onnx_loop.py MODEL.onnx REGISTRY.json NAME WORKERS FILE...

Each of WORKERS processes owns one onnxruntime session (CPUExecutionProvider, one intra-op thread, as
scripts/dev/inference_server.py runs it under bench-http.sh) and works through its share of the files, doing
per image what segserver does with the registry entry NAME (a fixed input size, gray, mean/std): decode
(OpenCV, as stored), scale to [0, 1] (8-bit /255, else min-max), resize to the input size (INTER_LINEAR),
normalise, run, sigmoid (logits) or not (probability), resize back (INTER_LINEAR), threshold, findContours
(RETR_TREE, CHAIN_APPROX_SIMPLE), drop objects under minArea. The loop does no I/O besides reading the
files and sends nothing over a network: it is the best a Python service could do on this machine.

Prints one JSON line: {"images", "seconds", "objects"} (objects: the total kept, to compare with segserver's).
"""
import json
import multiprocessing
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)


def segment(session, entry, path):
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.dtype == np.uint8:
        values = image.astype(np.float32) / np.float32(255)
    else:
        low, high = float(image.min()), float(image.max())
        values = ((image.astype(np.float32) - low) / np.float32(max(high - low, 1))).astype(np.float32)
    height, width = values.shape
    size = entry["input"]["size"]
    scaled = cv2.resize(values, (size["width"], size["height"]), interpolation=cv2.INTER_LINEAR)
    tensor = ((scaled - np.float32(entry["input"]["mean"][0])) / np.float32(entry["input"]["std"][0]))[None, None]
    (output,) = session.run([entry["output"]["name"]], {entry["input"]["name"]: tensor.astype(np.float32)})
    probability = output[0, 0]
    if entry["output"]["kind"] == "logits":
        probability = (1 / (1 + np.exp(-probability))).astype(np.float32)
    back = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = (back > np.float32(entry.get("threshold", 0.5))).astype(np.uint8) * 255
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0
    depth = [0] * len(contours)
    objects = 0
    for i, (_, _, _, parent) in enumerate(hierarchy[0]):
        depth[i] = depth[parent] + 1 if parent >= 0 else 0  # OpenCV lists a parent before its children
        if depth[i] % 2 == 0 and cv2.contourArea(contours[i]) >= entry.get("minArea", 50):
            objects += 1
    return objects


SESSION = None


def load(model):
    """Pool initializer: this worker's session."""
    global SESSION
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    SESSION = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def work(job):
    entry, paths = job
    return sum(segment(SESSION, entry, p) for p in paths)


def main():
    model, registry, name, workers, paths = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
    entry = next(m for m in json.load(open(registry))["models"] if m["name"] == name)
    shares = [(entry, paths[i::workers]) for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers, initializer=load, initargs=(model,)) as pool:
        pool.map(work, [(entry, paths[:1]) for _ in range(workers)], chunksize=1)  # warm up the workers
        start = time.perf_counter()
        objects = sum(pool.map(work, shares, chunksize=1))
        seconds = time.perf_counter() - start
    print(json.dumps({"images": len(paths), "seconds": seconds, "objects": objects}))


if __name__ == "__main__":
    main()
