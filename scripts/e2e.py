#!/usr/bin/env python3
"""End-to-end check of a running segserver (standard library only).

Usage: e2e.py BASE_URL

Registers a user, creates a project, uploads two generated spheroid images (PNG, made here),
queues segmentation, waits until both are segmented, reads the polygons, moves one vertex and
saves a new version, checks that version 2 has changed metrics and version 1 is unchanged,
then checks /api/health and /metrics. Prints one line per step; exits 1 on the first failure.
"""
import json
import math
import random
import struct
import sys
import time
import urllib.error
import urllib.request
import uuid
import zlib

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"


def step(message):
    print(f"e2e: {message}", flush=True)


def fail(message):
    print(f"e2e: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def call(method, path, body=None, token=None, headers=None, raw=None):
    request_headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    if token:
        request_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=request_headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = response.read()
            return response.status, payload, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def expect(status, wanted, payload, what):
    if status != wanted:
        fail(f"{what}: HTTP {status} (wanted {wanted}): {payload[:300]!r}")


def spheroid_png(seed, size=384):
    """A bright, slightly noisy background with dark textured discs (one with a bright hole)."""
    rng = random.Random(seed)
    discs = [(rng.uniform(70, size - 70), rng.uniform(70, size - 70), rng.uniform(28, 45)) for _ in range(3)]
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            value = 200 + rng.randint(-8, 8)
            for index, (cx, cy, r) in enumerate(discs):
                d = math.hypot(x - cx, y - cy)
                if d < r:
                    value = 70 + rng.randint(-10, 10)
                    if index == 0 and d < r * 0.35:
                        value = 205 + rng.randint(-6, 6)
            row.append(max(0, min(255, value)))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")


def large_png(size=8000):
    """A big image (size² pixels) with a few dark discs, built row by row with slices so it renders fast."""
    discs = [(size * 0.3, size * 0.3, size * 0.12), (size * 0.7, size * 0.6, size * 0.15), (size * 0.35, size * 0.75, size * 0.1)]
    raw = bytearray()
    for y in range(size):
        row = bytearray(b"\xc8" * size)
        for cx, cy, r in discs:
            dy = y - cy
            if abs(dy) < r:
                half = int(math.sqrt(r * r - dy * dy))
                start, end = max(0, int(cx) - half), min(size, int(cx) + half)
                row[start:end] = b"\x46" * (end - start)
        raw += b"\x00" + row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 1)) + chunk(b"IEND", b"")


def queue_large():
    """For the worker-kill test: uploads one large image, queues it, prints the image id."""
    email = f"e2e-kill-{uuid.uuid4().hex[:8]}@example.org"
    status, payload, _ = call("POST", "/api/v1/auth/register", {"email": email, "password": "e2e password 123"})
    expect(status, 201, payload, "register")
    token = json.loads(payload)["accessToken"]
    status, payload, _ = call("POST", "/api/v1/projects", {"name": "E2E worker kill"}, token)
    expect(status, 201, payload, "create project")
    project = json.loads(payload)["id"]
    body, content_type = multipart([("large.png", large_png())])
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
    expect(status, 201, payload, "upload large image")
    items = json.loads(payload)["items"]
    if len(items) != 1:
        fail(f"large upload: {payload[:300]!r}")
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
    expect(status, 202, payload, "queue the large image")
    print(items[0]["id"].lower())


def multipart(files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, content in files:
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: image/png\r\n\r\n".encode() + content + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def main():
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.org"
    status, payload, _ = call("POST", "/api/v1/auth/register", {"email": email, "password": "e2e password 123", "name": "E2E"})
    expect(status, 201, payload, "register")
    token = json.loads(payload)["accessToken"]
    step(f"registered {email}")

    status, payload, _ = call("POST", "/api/v1/projects", {"name": "E2E spheroids"}, token)
    expect(status, 201, payload, "create project")
    project = json.loads(payload)["id"]
    step(f"created project {project}")

    body, content_type = multipart([("spheroids-a.png", spheroid_png(1)), ("spheroids-b.png", spheroid_png(2))])
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
    expect(status, 201, payload, "upload")
    uploaded = json.loads(payload)
    if len(uploaded["items"]) != 2 or uploaded["errors"]:
        fail(f"upload: {uploaded}")
    images = [item["id"] for item in uploaded["items"]]
    step(f"uploaded {len(images)} images")

    status, payload, _ = call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
    expect(status, 202, payload, "queue segmentation")
    if json.loads(payload).get("queued") != 2:
        fail(f"queue: {payload!r}")
    step("queued segmentation")

    deadline = time.time() + 120
    while True:
        statuses = []
        for image in images:
            status, payload, _ = call("GET", f"/api/v1/images/{image}", token=token)
            expect(status, 200, payload, "image status")
            statuses.append(json.loads(payload)["status"])
        if all(s == "segmented" for s in statuses):
            break
        if any(s == "failed" for s in statuses):
            fail(f"segmentation failed: {statuses}")
        if time.time() > deadline:
            fail(f"not segmented after 120 s: {statuses}")
        time.sleep(0.5)
    step("both images segmented")

    status, payload, _ = call("GET", f"/api/v1/images/{images[0]}/segmentation", token=token)
    expect(status, 200, payload, "read segmentation")
    first = json.loads(payload)
    polygons = first["polygons"]
    if len(polygons) < 2:
        fail(f"expected at least 2 polygons, got {len(polygons)}")
    if not any(p.get("holes") for p in polygons):
        fail("expected a polygon with a hole")
    step(f"read version {first['version']}: {len(polygons)} polygons")

    # Move the first vertex of the first polygon outwards by 12 px (away from the centroid).
    edited = json.loads(json.dumps(polygons))
    ring = edited[0]["exterior"]
    cx = sum(p[0] for p in ring) / len(ring)
    cy = sum(p[1] for p in ring) / len(ring)
    x, y = ring[0]
    length = math.hypot(x - cx, y - cy) or 1
    ring[0] = [min(383, max(0, round(x + 12 * (x - cx) / length))), min(383, max(0, round(y + 12 * (y - cy) / length)))]
    status, payload, _ = call("PUT", f"/api/v1/images/{images[0]}/segmentation", {"polygons": edited}, token)
    expect(status, 200, payload, "save corrected polygons")
    second = json.loads(payload)
    if second["version"] != first["version"] + 1:
        fail(f"version did not advance: {second['version']}")
    if second["polygons"][0]["area"] == polygons[0]["area"]:
        fail("the moved vertex did not change the area")
    status, payload, _ = call("GET", f"/api/v1/images/{images[0]}/segmentation?version={first['version']}", token=token)
    expect(status, 200, payload, "read the original version")
    if json.loads(payload)["polygons"][0]["area"] != polygons[0]["area"]:
        fail("the original version changed")
    step(f"saved version {second['version']} with area {polygons[0]['area']} -> {second['polygons'][0]['area']}")

    status, payload, _ = call("GET", "/api/health")
    expect(status, 200, payload, "readiness")
    status, payload, _ = call("GET", "/metrics")
    expect(status, 200, payload, "metrics")
    text = payload.decode()
    for needle in ["http_server_requests_total", "seghub_jobs", "seghub_data_dir_free_bytes", "seghub_images_processed_total", "seghub_job_duration_seconds"]:
        if needle not in text:
            fail(f"/metrics lacks {needle}")
    step("health and metrics answer")
    print("e2e: OK")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "queue-large":
        queue_large()
    else:
        main()
