#!/usr/bin/env python3
"""End-to-end check of a running segserver (standard library only).

Usage: e2e.py BASE_URL
       e2e.py BASE_URL queue-large            (prints "IMAGE_ID ACCESS_TOKEN")
       e2e.py BASE_URL models INFERENCE_DIR PORT  (model server outage; prints the failed image's id)
       e2e.py BASE_URL watch TOKEN IMAGE_ID READY_FILE

Registers a user, creates a project, uploads two generated spheroid images (PNG, made here),
checks that the event socket refuses a foreign Origin, opens it and authenticates, queues
segmentation and waits for the `image.status` `segmented` events of both images on the socket
(no polling), reads the polygons, moves one vertex and saves a new version, checks that version
2 has changed metrics and version 1 is unchanged, then checks /api/health and /metrics. `watch`
waits on the socket for one image to become segmented (touching READY_FILE once authenticated),
which e2e.sh uses to see an event cross from a worker process to the API process. Prints one
line per step; exits 1 on the first failure.
"""
import base64
import hashlib
import json
import math
import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"
# The TLS context of wss:// sockets (None: the default, verifying); scripts/checks/cluster.py trusts its test certificate.
ssl_context = None


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


class EventSocket:
    """A minimal WebSocket client (RFC 6455) for /api/v1/events: text frames, ping/pong, close."""

    def __init__(self, base, origin=None, timeout=30):
        parsed = urllib.parse.urlsplit(base)
        secure = parsed.scheme == "https"
        self.sock = socket.create_connection((parsed.hostname, parsed.port or (443 if secure else 80)), timeout=timeout)
        if secure:
            self.sock = (ssl_context or ssl.create_default_context()).wrap_socket(self.sock, server_hostname=parsed.hostname)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /api/v1/events HTTP/1.1", f"Host: {parsed.hostname}:{parsed.port}", "Upgrade: websocket",
            "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
        ]
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        self.head = head
        self.status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        self.status = int(self.status_line.split()[1]) if len(self.status_line.split()) > 1 else 0
        self.body = self.buffer
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            if f"sec-websocket-accept: {accept}".lower() not in head.decode().lower():
                fail("event socket: wrong Sec-WebSocket-Accept")
        self.close_code = None

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("event socket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, message):
        self._send_frame(0x1, json.dumps(message).encode())

    def receive(self):
        """The next JSON message; None once the server closed (its code is in close_code)."""
        text = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                return None
            elif opcode in (0x1, 0x0):
                text += payload
                if first & 0x80:
                    return json.loads(text)

    def close(self):
        try:
            self._send_frame(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def open_events(token):
    """Opens the event socket, authenticates and returns it once `ready` has come."""
    events = EventSocket(BASE)
    if events.status != 101:
        fail(f"event socket: {events.status_line}")
    events.send({"type": "auth", "token": token})
    ready = events.receive()
    if not ready or ready.get("type") != "ready":
        fail(f"event socket: expected ready, got {ready!r}")
    return events


def wait_segmented(events, images, seconds):
    """Reads events until every image in `images` has an image.status `segmented`; returns the statuses seen."""
    pending = {image.lower() for image in images}
    seen = []
    events.sock.settimeout(seconds)
    deadline = time.time() + seconds
    while pending:
        if time.time() > deadline:
            fail(f"no segmented event for {sorted(pending)} within {seconds} s (saw {seen})")
        try:
            message = events.receive()
        except (socket.timeout, ConnectionError) as error:
            fail(f"event socket: {error} while waiting for {sorted(pending)} (saw {seen})")
        if message is None:
            fail(f"event socket closed with {events.close_code} while waiting (saw {seen})")
        if message.get("type") != "image.status":
            continue
        image = message["imageId"].lower()
        seen.append((image[:8], message["status"]))
        if message["status"] == "failed" and image in pending:
            fail(f"segmentation failed: {message}")
        if message["status"] == "segmented":
            pending.discard(image)
    return seen


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
    """For the worker-kill test: uploads one large image, queues it, prints the image id and the access token."""
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
    print(items[0]["id"].lower(), token)


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

    foreign = EventSocket(BASE, origin="https://evil.example")
    if foreign.status != 403 or b"ORIGIN_NOT_ALLOWED" not in foreign.body:
        fail(f"event socket from a foreign origin: {foreign.status_line} {foreign.body[:200]!r}")
    foreign.sock.close()
    step("event socket refuses a foreign Origin with 403")
    events = open_events(token)
    step("event socket authenticated")

    status, payload, _ = call("POST", f"/api/v1/projects/{project}/segmentations", {}, token)
    expect(status, 202, payload, "queue segmentation")
    if json.loads(payload).get("queued") != 2:
        fail(f"queue: {payload!r}")
    step("queued segmentation")

    seen = wait_segmented(events, images, 120)
    events.close()
    for image in images:
        status, payload, _ = call("GET", f"/api/v1/images/{image}", token=token)
        expect(status, 200, payload, "image status")
        if json.loads(payload)["status"] != "segmented":
            fail(f"the event said segmented, the API says {json.loads(payload)['status']}")
    step(f"both images segmented (events: {seen})")

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


def models(inference_dir, port):
    """The model server killed in the middle of a batch and started again: every image is segmented exactly once
    by the model. Then the server stays down: a new image ends `failed`. Prints nothing but steps."""
    def say(message):  # stdout carries the failed image's id for e2e.sh
        print(f"e2e: {message}", file=sys.stderr, flush=True)

    email = f"e2e-model-{uuid.uuid4().hex[:8]}@example.org"
    status, payload, _ = call("POST", "/api/v1/auth/register", {"email": email, "password": "e2e password 123", "name": "E2E"})
    expect(status, 201, payload, "register")
    token = json.loads(payload)["accessToken"]
    status, payload, _ = call("POST", "/api/v1/projects", {"name": "E2E model"}, token)
    expect(status, 201, payload, "create project")
    project = json.loads(payload)["id"]
    status, payload, _ = call("GET", "/api/v1/segmenters", token=token)
    expect(status, 200, payload, "list segmenters")
    listed = {item["name"]: item for item in json.loads(payload)["items"]}
    if not listed.get("unet", {}).get("ready"):
        fail(f"the model is not listed as ready: {payload!r}")
    files = [(f"model-{seed}.png", spheroid_png(100 + seed, size=256)) for seed in range(12)]
    body, content_type = multipart(files)
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
    expect(status, 201, payload, "upload")
    images = [item["id"] for item in json.loads(payload)["items"]]
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/segmentations", {"segmenter": "unet"}, token)
    expect(status, 202, payload, "queue with the model")

    def statuses():
        status, payload, _ = call("GET", f"/api/v1/projects/{project}/images?limit=100", token=token)
        expect(status, 200, payload, "list images")
        return {item["id"]: item["status"] for item in json.loads(payload)["items"]}

    deadline = time.time() + 120
    while sum(1 for s in statuses().values() if s == "segmented") < 2:
        if time.time() > deadline:
            fail("the model segmented nothing")
        time.sleep(0.05)
    subprocess.run(["bash", "scripts/dev/inference.sh", "stop", inference_dir], check=True, stdout=subprocess.DEVNULL)
    done = sum(1 for s in statuses().values() if s == "segmented")
    say(f"stopped the inference server with {done} of {len(images)} images segmented")
    time.sleep(3)
    subprocess.run(["bash", "scripts/dev/inference.sh", "start", inference_dir, str(port)], check=True, stdout=subprocess.DEVNULL)
    say("started the inference server again")
    deadline = time.time() + 240
    while True:
        current = statuses()
        if any(s == "failed" for s in current.values()):
            fail(f"an image failed while the server was away: {current}")
        if all(current.get(image) == "segmented" for image in images):
            break
        if time.time() > deadline:
            fail(f"not every image was segmented after the server came back: {current}")
        time.sleep(0.2)
    for image in images:
        status, payload, _ = call("GET", f"/api/v1/images/{image}/segmentation/versions", token=token)
        expect(status, 200, payload, "versions")
        versions = json.loads(payload)["items"]
        if len(versions) != 1 or versions[0]["segmenter"] != "unet":
            fail(f"image {image}: expected one version by unet, got {versions}")
    say(f"every one of the {len(images)} images was segmented exactly once by the model")

    subprocess.run(["bash", "scripts/dev/inference.sh", "stop", inference_dir], check=True, stdout=subprocess.DEVNULL)
    body, content_type = multipart([("model-down.png", spheroid_png(99, size=256))])
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/images", token=token, raw=body, headers={"Content-Type": content_type})
    expect(status, 201, payload, "upload")
    image = json.loads(payload)["items"][0]["id"]
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/segmentations", {"segmenter": "unet", "imageIds": [image]}, token)
    expect(status, 202, payload, "queue while the model server is down")
    deadline = time.time() + 240
    while statuses().get(image) != "failed":
        if time.time() > deadline:
            fail(f"the image did not end failed with the model server down: {statuses().get(image)}")
        time.sleep(0.5)
    status, payload, _ = call("GET", "/api/health")
    health = json.loads(payload)
    if status != 200 or health.get("status") != "degraded" or health["checks"].get("model:unet", {}).get("status") != "degraded":
        fail(f"readiness with the model server down: {status} {payload!r}")
    say("with the model server down for good the image ended failed, and readiness is degraded (200)")
    print(image, flush=True)


def mail(inbox_dir):
    """Mail through a real SMTP server, every link followed against the live server (segserver runs with
    SEG_REQUIRE_EMAIL_VERIFICATION=true): confirm an address, reset a password, accept an invitation by signing up."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import inbox

    def token_of(url):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]

    alice, password = f"alice.{uuid.uuid4().hex[:6]}@example.org", "correct horse battery"
    status, payload, _ = call("POST", "/api/v1/auth/register", {"email": alice, "password": password, "name": "Alice Ünal"})
    expect(status, 202, payload, "sign-up while addresses must be confirmed")
    envelope, message = inbox.wait_for(inbox_dir, alice, 1, 60)[0]
    if not (envelope["tls"] and envelope["authUser"] == "seghub" and envelope["mailFrom"] == "seghub@lab.example"):
        fail(f"the confirmation came without TLS, AUTH or the right sender: {envelope}")
    if message.get_content_type() != "multipart/alternative" or str(message["Subject"]) != "Confirm your address for SegHub":
        fail(f"the confirmation message: {message.get_content_type()} {message['Subject']!r}")
    if not str(message["Message-ID"]).endswith("@lab.example>") or str(message["From"]) != "SegHub <seghub@lab.example>":
        fail(f"headers: Message-ID {message['Message-ID']!r}, From {message['From']!r}")
    link = inbox.link(message, "/verify-email")
    if not link.startswith(BASE + "/verify-email?token="):
        fail(f"the link does not point at this server: {link}")
    page = urllib.request.urlopen(link, timeout=30)
    if page.status != 200 or "text/html" not in page.headers.get("Content-Type", ""):
        fail(f"the link's page: {page.status} {page.headers.get('Content-Type')}")
    status, payload, _ = call("POST", "/api/v1/auth/login", {"email": alice, "password": password})
    if status != 403 or json.loads(payload).get("code") != "EMAIL_NOT_VERIFIED":
        fail(f"sign-in before confirming: {status} {payload!r}")
    status, payload, _ = call("POST", "/api/v1/auth/verify-email", {"token": token_of(link)})
    expect(status, 204, payload, "confirm with the mailed link's token")
    status, payload, _ = call("POST", "/api/v1/auth/login", {"email": alice, "password": password})
    expect(status, 200, payload, "sign-in once confirmed")
    step(f"mail: the confirmation reached {alice} over STARTTLS with AUTH, its link's page loads, and it unlocked sign-in")

    status, payload, _ = call("POST", "/api/v1/auth/password-reset", {"email": alice})
    expect(status, 202, payload, "ask for a reset link")
    _, reset = inbox.wait_for(inbox_dir, alice, 1, 60, subject="Reset your SegHub password")[0]
    link = inbox.link(reset, "/reset-password")
    status, payload, _ = call("POST", "/api/v1/auth/password-reset/confirm", {"token": token_of(link), "password": "a new password now"})
    expect(status, 204, payload, "set a new password with the mailed link")
    status, payload, _ = call("POST", "/api/v1/auth/login", {"email": alice, "password": password})
    expect(status, 401, payload, "the old password after the reset")
    status, payload, _ = call("POST", "/api/v1/auth/login", {"email": alice, "password": "a new password now"})
    expect(status, 200, payload, "the new password")
    token = json.loads(payload)["accessToken"]
    step("mail: the reset link set a new password; the old one no longer signs in")

    status, payload, _ = call("POST", "/api/v1/projects", {"name": "Mailed spheroids"}, token)
    expect(status, 201, payload, "create a project")
    project = json.loads(payload)["id"]
    bob = f"bob.{uuid.uuid4().hex[:6]}@example.org"
    status, payload, _ = call("POST", f"/api/v1/projects/{project}/members", {"email": bob, "role": "editor"}, token)
    expect(status, 201, payload, "invite an address without an account")
    received, invitation = inbox.wait_for(inbox_dir, bob, 1, 60)[0]
    if "Alice Ünal" not in str(invitation["Subject"]) or "Mailed spheroids" not in str(invitation["Subject"]):
        fail(f"the invitation's subject: {invitation['Subject']!r}")
    head = received["raw"].split(b"\r\n\r\n", 1)[0]
    if b"=?UTF-8?B?" not in head or "Ünal".encode() in head:
        fail(f"the subject with a non-ASCII name is not RFC 2047-encoded on the wire: {head[:400]!r}")
    link = inbox.link(invitation, "/invitations")
    status, payload, _ = call("POST", "/api/v1/invitations/preview", {"token": token_of(link)})
    expect(status, 200, payload, "the invitation's page")
    if json.loads(payload).get("projectName") != "Mailed spheroids":
        fail(f"the preview: {payload!r}")
    status, payload, _ = call("POST", "/api/v1/auth/register", {"email": bob, "password": password, "invitationToken": token_of(link)})
    expect(status, 201, payload, "sign up with the invitation (no confirmation needed: the link proved the address)")
    bob_token = json.loads(payload)["accessToken"]
    status, payload, _ = call("GET", f"/api/v1/projects/{project}", token=bob_token)
    expect(status, 200, payload, "the invited project")
    if json.loads(payload).get("myRole") != "editor":
        fail(f"bob's role: {payload!r}")
    step(f"mail: {bob} followed the invitation (its subject RFC 2047-encoded and read back), signed up and is an editor")
    print(len(inbox.messages(inbox_dir, alice)) + len(inbox.messages(inbox_dir, bob)), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 4 and sys.argv[2] == "models":
        models(sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 3 and sys.argv[2] == "mail":
        mail(sys.argv[3])
    elif len(sys.argv) > 2 and sys.argv[2] == "queue-large":
        queue_large()
    elif len(sys.argv) > 5 and sys.argv[2] == "watch":
        watcher = open_events(sys.argv[3])
        open(sys.argv[5], "w").close()
        wait_segmented(watcher, [sys.argv[4]], 240)
        watcher.close()
        print("e2e: the segmented event reached the API process's socket", file=sys.stderr, flush=True)
    else:
        main()
