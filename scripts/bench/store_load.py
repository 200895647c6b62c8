#!/usr/bin/env python3
"""The load of scripts/bench/bench-store.sh against one segserver: uploads every image of a folder (4 requests at a
time, one file each), downloads every original (4 at a time), segments them all and waits for the last result.
Prints one JSON object: the seconds of each phase, the bytes, and the CPU seconds each named process used in each
phase (from /proc/PID/stat), so that the cost of the store itself shows.

Usage: store_load.py BASE_URL IMAGE_FOLDER [NAME=PID...]
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
PROCESSES = dict((name, int(pid)) for name, _, pid in (arg.partition("=") for arg in sys.argv[3:]))
TICK = os.sysconf("SC_CLK_TCK")


def cpu():
    """CPU seconds (user + system) of each named process so far."""
    used = {}
    for name, pid in PROCESSES.items():
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        used[name] = (int(fields[11]) + int(fields[12])) / TICK
    return used


phases = []


def mark():
    phases.append((time.perf_counter(), cpu()))


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
    mark()
    ids = list(pool.map(upload, files))
    mark()
    sizes = list(pool.map(download, ids))
    mark()
if sum(sizes) != total:
    sys.exit(f"downloaded {sum(sizes)} bytes of {total}")

mark()
call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
while True:
    # Polled often: a coarse poll would add up to its interval to a phase of a few seconds.
    _, payload = call("GET", "/api/v1/queue", token=token)
    stats = json.loads(payload)
    if stats["queued"] == 0 and stats["processing"] == 0:
        break
    time.sleep(0.02)
mark()
if stats["failed"]:
    sys.exit(f"{stats['failed']} segmentations failed")
spans = [(phases[0], phases[1]), (phases[1], phases[2]), (phases[3], phases[4])]
result = {"bytes": total, "images": len(files)}
for phase, (start, end) in zip(("upload", "download", "segment"), spans):
    result[phase] = end[0] - start[0]
    result[phase + "_cpu"] = {name: end[1][name] - start[1][name] for name in PROCESSES}
print(json.dumps(result))
