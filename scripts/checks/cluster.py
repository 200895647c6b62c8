#!/usr/bin/env python3
"""The cluster test's driver (scripts/checks/test-cluster.sh): SegHub through nginx in front of two API nodes and a
worker node that share PostgreSQL and an S3 bucket but no folder.

Usage: cluster.py BASE_URL flow NODE_URL...   register, upload, segment while watching event sockets on both API
                                               nodes, check polygons, export and download; prints the access token
       cluster.py BASE_URL queue-large TOKEN   uploads and queues one large image; prints its id
       cluster.py BASE_URL export-fails TOKEN PROJECT
                                               (the store is down) an export is retried, then fails with a reason
       cluster.py BASE_URL export-done TOKEN PROJECT
                                               an export is built and downloads whole
       cluster.py BASE_URL kill-mid-upload TOKEN PROJECT PID
                                               uploads an 81 MB image (stored in parts) and SIGKILLs the API node PID
                                               while its multipart upload is open; prints the seed and the object key
       cluster.py BASE_URL upload-noise TOKEN PROJECT SEED
                                               uploads that image again: it is stored whole
       cluster.py BASE_URL pending-uploads     how many multipart uploads are open under the prefix
       cluster.py BASE_URL objects             the keys and sizes of the objects under the prefix, sorted
The S3 commands read the store's settings from the file named by SEG_S3_ENV (scripts/dev/seaweedfs.sh's s3.env) and
sign with curl --aws-sigv4. It reuses e2e.py's client (requests, the event socket, generated spheroids).
"""
import hashlib
import io
import json
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
import zlib

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


def start_export(token, project):
    status, payload, _ = e2e.call("POST", f"/api/v1/projects/{project}/exports", {"formats": ["coco", "csv"], "includeImages": True}, token)
    e2e.expect(status, 202, payload, "start an export")
    return json.loads(payload)["id"]


def await_export(token, export, states, timeout):
    started = time.time()
    while True:
        status, payload, _ = e2e.call("GET", f"/api/v1/exports/{export}", token=token)
        e2e.expect(status, 200, payload, "read an export")
        body = json.loads(payload)
        if body["status"] in states:
            return body, time.time() - started
        if time.time() - started > timeout:
            e2e.fail(f"the export stayed {body['status']} for {timeout} s: {payload[:300]!r}")
        time.sleep(0.3)


def export_fails(token, project):
    """With the store stopped: the export is tried three times (queue backoff), then fails with a reason."""
    export = start_export(token, project)
    body, seconds = await_export(token, export, ("failed", "done"), 180)
    if body["status"] != "failed" or "object store could not be reached" not in (body.get("error") or ""):
        e2e.fail(f"with the store down the export ended {body['status']}: {body.get('error')!r}")
    say(f"store down: the export was retried and failed after {seconds:.1f} s: {body['error']!r}")


def export_done(token, project):
    export = start_export(token, project)
    body, seconds = await_export(token, export, ("failed", "done"), 180)
    if body["status"] != "done":
        e2e.fail(f"the export ended {body['status']}: {body.get('error')!r}")
    status, payload, _ = e2e.call("GET", f"/api/v1/exports/{export}/download", token=token)
    e2e.expect(status, 200, payload, "download the export")
    zipfile.ZipFile(io.BytesIO(payload)).testzip()
    say(f"store back: a new export was built in {seconds:.1f} s and downloads whole ({len(payload)} bytes)")


# -- the S3 store, signed by curl ---------------------------------------------------------------------------------


def s3_settings():
    settings = {}
    with open(os.environ["SEG_S3_ENV"]) as lines:
        for line in lines:
            name, _, value = line.strip().partition("=")
            settings[name] = value
    return settings


def s3(method, path, query=""):
    """(status, body) of a signed request for PATH in the bucket (query parameters sorted, each with '=')."""
    settings = s3_settings()
    url = f"{settings['SEG_S3_ENDPOINT']}/{settings['SEG_S3_BUCKET']}/{path}" + (f"?{query}" if query else "")
    command = ["curl", "-s", "-m", "10", "-w", "\n%{http_code}", "--aws-sigv4", f"aws:amz:{settings['SEG_S3_REGION']}:s3",
               "--user", f"{settings['SEG_S3_ACCESS_KEY_ID']}:{settings['SEG_S3_SECRET_ACCESS_KEY']}"]
    command += ["-I"] if method == "HEAD" else ["-X", method]
    answer = subprocess.run(command + [url], capture_output=True, text=True).stdout
    body, _, code = answer.rpartition("\n")
    return int(code or 0), body


def pending_uploads(prefix="cluster/objects/"):
    status, body = s3("GET", "", f"prefix={urllib.parse.quote(prefix, safe='')}&uploads=")
    if status != 200:
        e2e.fail(f"listing the multipart uploads: HTTP {status}: {body[:300]}")
    return re.findall(r"<Key>([^<]*)</Key>", body.split("</Prefix>", 1)[-1])


def objects(prefix="cluster/"):
    listed, token = [], ""
    while True:
        query = (f"continuation-token={urllib.parse.quote(token, safe='')}&" if token else "") + \
            f"list-type=2&prefix={urllib.parse.quote(prefix, safe='')}"
        status, body = s3("GET", "", query)
        if status != 200:
            e2e.fail(f"listing the bucket: HTTP {status}: {body[:300]}")
        listed += re.findall(r"<Key>([^<]*)</Key>.*?<Size>([0-9]+)</Size>", body)
        token = (re.findall(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", body) or [""])[0]
        if "<IsTruncated>true</IsTruncated>" not in body or not token:
            return sorted(listed)


def noise_png(seed, side=9000):
    """An 8-bit gray PNG of random pixels, stored uncompressed: side² bytes that no compression shrinks."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + rng.randbytes(side) for _ in range(side))

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")


def object_key(data):
    digest = hashlib.sha256(data).hexdigest()
    return f"cluster/objects/{digest[:2]}/{digest[2:]}"


def upload(token, project, name, data):
    body, content_type = e2e.multipart([(name, data)])
    return e2e.call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})


def kill_mid_upload(token, project, pid):
    """Uploads a large image through nginx and SIGKILLs the API node once its multipart upload is open in the store.
    Tries new images (up to 3) when the upload ends before the kill. Checks that no object shows and no row exists."""
    for seed in (1, 2, 3):
        data = noise_png(seed)
        key = object_key(data)
        answer = {}

        def send():
            try:
                answer["status"] = upload(token, project, f"noise-{seed}.png", data)[0]
            except Exception as error:  # the connection dies with the node
                answer["status"] = repr(error)

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.time() + 300
        while sender.is_alive() and key not in pending_uploads() and time.time() < deadline:
            time.sleep(0.05)
        if not sender.is_alive():
            say(f"the upload of image {seed} ended ({answer.get('status')}) before its multipart upload was seen: another")
            continue
        if key not in pending_uploads():
            e2e.fail("no multipart upload appeared in 300 s")
        os.kill(pid, signal.SIGKILL)
        sender.join(60)
        say(f"killed the API node (pid {pid}) with the multipart upload of {len(data) / 1e6:.0f} MB open; "
            f"the client got {answer.get('status')}")
        if answer.get("status") == 201:
            e2e.fail("the upload succeeded although its node was killed")
        status, _ = s3("HEAD", key)
        if status != 404:
            e2e.fail(f"the half-uploaded object is visible: HEAD answered {status}")
        if key not in pending_uploads():
            e2e.fail("the killed node's multipart upload is not listed")
        say("no object shows for it; its multipart upload is left for gc")
        print(seed, key)
        return
    e2e.fail("three uploads ended before their multipart uploads could be seen")


def upload_noise(token, project, seed):
    data = noise_png(int(seed))
    status, payload, _ = upload(token, project, f"noise-{seed}.png", data)
    e2e.expect(status, 201, payload, "upload the large image again")
    status, _ = s3("HEAD", object_key(data))
    if status != 200:
        e2e.fail(f"the large image's object is missing after its upload: HEAD answered {status}")
    say(f"the same {len(data) / 1e6:.0f} MB image uploaded again through the new node: stored whole")


NODES = sys.argv[3:] if len(sys.argv) > 3 and sys.argv[2] == "flow" else []

if __name__ == "__main__":
    command, arguments = (sys.argv[2] if len(sys.argv) > 2 else "flow"), sys.argv[3:]
    if command == "queue-large":
        e2e.queue_large()
    elif command == "export-fails":
        export_fails(*arguments)
    elif command == "export-done":
        export_done(*arguments)
    elif command == "kill-mid-upload":
        kill_mid_upload(arguments[0], arguments[1], int(arguments[2]))
    elif command == "upload-noise":
        upload_noise(*arguments)
    elif command == "pending-uploads":
        print(len(pending_uploads()))
    elif command == "objects":
        for key, size in objects():
            print(key, size)
    else:
        flow()
