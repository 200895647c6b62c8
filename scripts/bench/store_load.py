#!/usr/bin/env python3
"""The load of scripts/bench/bench-store.sh against one segserver: uploads every image of a folder (4 requests at a
time, one file each), downloads every original (4 at a time), segments them all and waits for the last result.
Prints "UPLOAD_SECONDS DOWNLOAD_SECONDS SEGMENT_SECONDS BYTES".

Usage: store_load.py BASE_URL IMAGE_FOLDER
"""
import concurrent.futures
import glob
import json
import os
import sys
import time
import urllib.request
import uuid

BASE, FOLDER = sys.argv[1].rstrip("/"), sys.argv[2]


def call(method, path, body=None, token=None, raw=None, content_type=None):
    headers = {}
    if body is not None:
        raw, content_type = json.dumps(body).encode(), "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with urllib.request.urlopen(urllib.request.Request(BASE + path, data=raw, method=method, headers=headers), timeout=600) as answer:
        return answer.status, answer.read()


_, payload = call("POST", "/api/v1/auth/register", {"email": f"bench-{uuid.uuid4().hex[:8]}@example.org", "password": "bench password 1"})
token = json.loads(payload)["accessToken"]
_, payload = call("POST", "/api/v1/projects", {"name": "bench"}, token)
project = json.loads(payload)["id"]
files = sorted(glob.glob(os.path.join(FOLDER, "*.png")))
total = sum(os.path.getsize(f) for f in files)


def upload(path):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as handle:
        content = handle.read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{os.path.basename(path)}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    status, answer = call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body,
                          content_type=f"multipart/form-data; boundary={boundary}")
    items = json.loads(answer)["items"]
    if status != 201 or len(items) != 1:
        sys.exit(f"upload of {path}: {status} {answer[:200]!r}")
    return items[0]["id"]


def download(image):
    _, content = call("GET", f"/api/v1/images/{image}/original", token=token)
    return len(content)


with concurrent.futures.ThreadPoolExecutor(4) as pool:
    start = time.perf_counter()
    ids = list(pool.map(upload, files))
    uploaded = time.perf_counter() - start
    start = time.perf_counter()
    sizes = list(pool.map(download, ids))
    downloaded = time.perf_counter() - start
if sum(sizes) != total:
    sys.exit(f"downloaded {sum(sizes)} bytes of {total}")

start = time.perf_counter()
call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
while True:
    _, payload = call("GET", "/api/v1/queue", token=token)
    stats = json.loads(payload)
    if stats["queued"] == 0 and stats["processing"] == 0:
        break
    time.sleep(0.2)
segmented = time.perf_counter() - start
if stats["failed"]:
    sys.exit(f"{stats['failed']} segmentations failed")
print(f"{uploaded:.3f} {downloaded:.3f} {segmented:.3f} {total}")
