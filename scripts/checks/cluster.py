#!/usr/bin/env python3
"""The cluster test's driver (scripts/checks/test-cluster.sh): SegHub through nginx in front of two API nodes and a
worker node that share PostgreSQL and an S3 bucket but no folder.

Usage: cluster.py BASE_URL flow NODE_URL...   register, upload, segment while watching event sockets on both API
                                               nodes, check polygons, export and download; prints the access token
       cluster.py BASE_URL queue-large TOKEN   uploads and queues one large image; prints its id
It reuses e2e.py's client (requests, the event socket, generated spheroids).
"""
import io
import json
import os
import ssl
import sys
import time
import urllib.request
import zipfile

BASE = sys.argv[1].rstrip("/")
sys.argv = [sys.argv[0], BASE] + sys.argv[2:]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (BASE is read from sys.argv[1] at import)

# nginx serves a self-signed certificate for localhost in the test.
e2e.ssl_context = ssl._create_unverified_context()
urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=e2e.ssl_context)))


def say(message):
    print(f"cluster: {message}", file=sys.stderr, flush=True)


def flow():
    email = f"cluster-{os.urandom(4).hex()}@example.org"
    status, payload, _ = e2e.call("POST", "/api/v1/auth/register", {"email": email, "password": "cluster password 1"})
    e2e.expect(status, 201, payload, "register through nginx")
    token = json.loads(payload)["accessToken"]
    status, payload, _ = e2e.call("POST", "/api/v1/projects", {"name": "Cluster"}, token)
    e2e.expect(status, 201, payload, "create a project")
    project = json.loads(payload)["id"]

    # Event sockets through nginx until each API node holds one (asked of the nodes themselves: their readiness
    # counts their sockets).
    def sockets_on(node):
        with urllib.request.urlopen(node + "/api/health", timeout=10) as answer:
            detail = json.load(answer)["checks"]["websocket"]["detail"]
        return int(detail.rsplit(";", 1)[1].split()[0])

    sockets = []
    while not all(sockets_on(node) > 0 for node in NODES):
        if len(sockets) >= 8:
            e2e.fail(f"8 sockets through nginx did not reach both API nodes: {[sockets_on(node) for node in NODES]}")
        sockets.append(e2e.open_events(token))
    say(f"{len(sockets)} event sockets through nginx, held by both API nodes: {[sockets_on(node) for node in NODES]}")

    body, content_type = e2e.multipart([(f"spheroid-{seed}.png", e2e.spheroid_png(seed)) for seed in (41, 42, 43, 44)])
    status, payload, _ = e2e.call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
    e2e.expect(status, 201, payload, "upload four images")
    images = [item["id"] for item in json.loads(payload)["items"]]
    if len(images) != 4:
        e2e.fail(f"upload: {payload[:300]!r}")
    status, payload, _ = e2e.call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
    e2e.expect(status, 202, payload, "queue segmentation")
    started = time.time()
    for socket in sockets:
        e2e.wait_segmented(socket, images, 240)
        socket.close()
    say(f"every socket heard all 4 images segmented ({time.time() - started:.1f} s; the worker node wrote them)")
    for image in images:
        status, payload, _ = e2e.call("GET", f"/api/v1/images/{image}/segmentation", token=token)
        e2e.expect(status, 200, payload, "read a segmentation")
        if not json.loads(payload).get("polygons"):
            e2e.fail(f"image {image} has no polygons")
        status, payload, _ = e2e.call("GET", f"/api/v1/images/{image}/original", token=token)
        e2e.expect(status, 200, payload, "download an original (from the bucket, through either node)")
    status, payload, _ = e2e.call("POST", f"/api/v1/projects/{project}/exports", {"formats": ["coco", "csv"]}, token)
    if status not in (201, 202):
        e2e.fail(f"start an export: HTTP {status}: {payload[:300]!r}")
    export = json.loads(payload)["id"]
    deadline = time.time() + 120
    while True:
        status, payload, _ = e2e.call("GET", f"/api/v1/exports/{export}", token=token)
        state = json.loads(payload).get("status")
        if state == "done":
            break
        if state == "failed" or time.time() > deadline:
            e2e.fail(f"export: {payload[:300]!r}")
        time.sleep(0.3)
    status, payload, _ = e2e.call("GET", f"/api/v1/exports/{export}/download", token=token)
    e2e.expect(status, 200, payload, "download the export")
    names = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    if not any(name.endswith(".json") for name in names):
        e2e.fail(f"the export holds {names}")
    say(f"polygons for all 4 images, originals downloaded, export of {len(payload)} bytes ({len(names)} files) downloaded")
    print(token, project)


NODES = sys.argv[3:] if len(sys.argv) > 3 and sys.argv[2] == "flow" else []

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "queue-large":
        e2e.queue_large()
    else:
        flow()
