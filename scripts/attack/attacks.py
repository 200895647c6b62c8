#!/usr/bin/env python3
"""The attacks of issue 15 against a running segserver, each with its figure (standard library only).

Usage: attacks.py BASE_URL   (normally run by scripts/attack/attack.sh, which starts the server with
SEG_HTTP_HEADER_TIMEOUT=3, SEG_EVENTS_MAX_PER_ADDRESS=40, SEG_EVENTS_MAX_PER_USER=5, one worker, no prefetch)

Exits 1 when an attack gets through: a 500, a wrong status, a half-open connection left open, a socket
over its cap, a revoked token accepted, another user's job pushed back by a priority flood, adding a
member answering differently for an address with an account and one without. Timings are printed for
the record and never judged (the machine may be loaded).
"""
import base64
import http.client
import json
import math
import os
import select
import socket
import statistics
import subprocess
import struct
import sys
import threading
import time
import urllib.parse
import zlib

BASE = urllib.parse.urlparse(sys.argv[1])
HOST, PORT = BASE.hostname, BASE.port
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def request(method, path, body=None, token=None, headers=None, raw=None, timeout=120):
    """(status, parsed JSON or text) of one request on a fresh connection."""
    connection = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    fields = dict(headers or {})
    if token:
        fields["Authorization"] = "Bearer " + token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        fields["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=fields)
        response = connection.getresponse()
        text = response.read()
    except (ConnectionError, socket.timeout, http.client.HTTPException) as error:
        return 0, str(error)
    finally:
        connection.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text.decode(errors="replace")


def register(email, password="correct horse battery"):
    status, session = request("POST", "/api/v1/auth/register", {"email": email, "password": password})
    assert status == 201, (status, session)
    return session


def png(width, height, seed):
    """A gray PNG: bright background, a few dark disks placed by `seed` (distinct files for distinct seeds)."""
    rows = []
    disks = [((seed * 37 + k * 53) % (width - 40) + 20, (seed * 91 + k * 29) % (height - 40) + 20, 8 + (seed + k) % 6) for k in range(4)]
    for y in range(height):
        row = bytearray([200]) * width
        for cx, cy, r in disks:
            if abs(y - cy) <= r:
                half = int(math.sqrt(r * r - (y - cy) ** 2))
                row[max(0, cx - half):cx + half + 1] = bytes([40]) * (min(width, cx + half + 1) - max(0, cx - half))
        rows.append(b"\0" + bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 1)) + chunk(b"IEND", b"")


def upload(token, project, files):
    boundary = "seghub-attack-boundary"
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, answer = request("POST", f"/api/v1/projects/{project}/images", token=token, raw=body,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status in (200, 201), (status, answer)
    return [item["id"] for item in answer["items"]]


def project(token, name):
    status, answer = request("POST", "/api/v1/projects", {"name": name}, token=token)
    assert status == 201, (status, answer)
    return answer["id"]


def circle(cx, cy, radius, vertices):
    return [[round(cx + radius * math.cos(2 * math.pi * k / vertices), 3), round(cy + radius * math.sin(2 * math.pi * k / vertices), 3)]
            for k in range(vertices)]


def polygon_attack():
    print("\n1. quadratic polygon check: sign-in latency while two 40k+40k-vertex PUTs run", flush=True)
    owner = register("poly@example.org")
    token = owner["accessToken"]
    image = upload(token, project(token, "poly"), [("big.png", png(2000, 2000, 1))])[0]
    body = {"polygons": [{"class": "cell", "exterior": circle(1000, 1000, 900, 40000), "holes": [circle(1000, 1000, 400, 40000)]}]}
    encoded = json.dumps(body).encode()

    def login():
        started = time.perf_counter()
        status, _ = request("POST", "/api/v1/auth/login", {"email": "poly@example.org", "password": "correct horse battery"})
        assert status == 200, status
        return time.perf_counter() - started

    idle = [login() for _ in range(5)]
    puts, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            started = time.perf_counter()
            status, _ = request("PUT", f"/api/v1/images/{image}/segmentation", token=token, raw=encoded,
                                headers={"Content-Type": "application/json"})
            puts.append((status, time.perf_counter() - started))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    busy = [login() for _ in range(5)]
    stop.set()
    for thread in threads:
        thread.join()
    print(f"      sign-in median {statistics.median(idle) * 1000:.0f} ms idle, {statistics.median(busy) * 1000:.0f} ms under attack "
          f"(max {max(busy) * 1000:.0f} ms; {statistics.median(busy) / statistics.median(idle):.2f}x); "
          f"{len(puts)} PUTs, median {statistics.median(t for _, t in puts) * 1000:.0f} ms")
    check(all(status == 200 for status, _ in puts), "every heavy PUT was stored (200)")
    million = {"polygons": [{"class": "cell", "exterior": circle(1000, 1000, 900, 1_000_000)}]}
    status, answer = request("PUT", f"/api/v1/images/{image}/segmentation", million, token=token)
    check(status == 422 and answer.get("code") == "POLYGON_LIMIT_EXCEEDED", f"a 1M-vertex ring is refused: {status} {answer.get('code')}")


def body_attacks():
    print("\n4/7. oversized bodies and control characters", flush=True)
    token = register("bodies@example.org")["accessToken"]
    big = b'{"email": "a@example.org", "password": "x"' + b" " * (2 << 20) + b"}"
    status, answer = request("POST", "/api/v1/auth/login", raw=big, headers={"Content-Type": "application/json"})
    check(status == 413 and answer.get("code") == "PAYLOAD_TOO_LARGE", f"a 2 MiB sign-in body: {status}")
    status, answer = request("POST", "/api/v1/projects", raw=b'{"name": "x"' + b" " * (2 << 20) + b"}", token=token,
                             headers={"Content-Type": "application/json"})
    check(status == 413, f"a 2 MiB project body: {status}")
    status, answer = request("POST", "/api/v1/projects", raw=b" " * (70 << 20), token=token, headers={"Content-Type": "application/json"})
    check(status == 413, f"a 70 MiB body: {status}")
    for path, body, field in [
        ("/api/v1/projects", {"name": "a\u0000b"}, "name"),
        ("/api/v1/auth/register", {"email": "nul@example.org", "password": "long enough pass", "name": "x\u0000"}, "name"),
    ]:
        status, answer = request("POST", path, body, token=token)
        fields = [e.get("field") for e in answer.get("errors", [])] if isinstance(answer, dict) else []
        check(status == 400 and fields == [field], f"NUL in {field} of {path}: {status} {fields}")


def half_open_attack():
    print("\n5. 200 connections that never finish their headers (SEG_HTTP_HEADER_TIMEOUT=3)", flush=True)
    sockets = []
    started = time.monotonic()
    for _ in range(200):
        s = socket.create_connection((HOST, PORT))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(s)
    closed_at = {}
    while len(closed_at) < len(sockets) and time.monotonic() - started < 30:
        ready, _, _ = select.select([s for s in sockets if s not in closed_at], [], [], 1)
        for s in ready:
            try:
                data = s.recv(1024)
            except OSError:
                data = b""
            if not data:
                closed_at[s] = time.monotonic() - started
    for s in sockets:
        s.close()
    late = max(closed_at.values()) if closed_at else float("nan")
    print(f"      {len(closed_at)} of 200 closed by the server, the last after {late:.1f} s")
    check(len(closed_at) == 200, "every half-open connection was closed")


def priority_attack():
    print("\n3. priority flood: 8 jobs at priority 100, then another user's one job", flush=True)
    a = register("flood@example.org")["accessToken"]
    b = register("victim@example.org")["accessToken"]
    a_project, b_project = project(a, "flood"), project(b, "victim")
    a_images = upload(a, a_project, [(f"f{k}.png", png(400, 400, 10 + k)) for k in range(8)])
    b_image = upload(b, b_project, [("v.png", png(400, 400, 99))])[0]
    status, _ = request("POST", f"/api/v1/projects/{a_project}/segmentations", {"priority": 100}, token=a)
    assert status == 202, status
    status, _ = request("POST", f"/api/v1/projects/{b_project}/segmentations", {}, token=b)
    assert status == 202, status

    def finished(token, image):
        for _ in range(600):
            status, answer = request("GET", f"/api/v1/images/{image}/segmentation/versions", token=token)
            if status == 200 and answer["items"]:
                return answer["items"][0]["createdAt"]
            time.sleep(0.2)
        raise RuntimeError(f"image {image} was never segmented")

    victim = finished(b, b_image)
    before = sum(1 for image in a_images if finished(a, image) < victim)
    print(f"      the victim's job ran after {before} of the flood's 8")
    check(before <= 3, "the victim's job was among the next few claimed (one may already run, ties go to age)")


def ws_frame(text):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(payload)))
    return header + mask + bytes(p ^ mask[i % 4] for i, p in enumerate(payload))


def ws_open():
    s = socket.create_connection((HOST, PORT), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/v1/events HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    return s, answer.split(b"\r\n", 1)[0].decode(errors="replace"), answer


def ws_read_text(s):
    """The next frame's payload (text, or the close frame's code and reason)."""
    head = s.recv(2)
    if len(head) < 2:
        return None, b""
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack(">H", s.recv(2))[0]
    data = b""
    while len(data) < length:
        data += s.recv(length - len(data))
    return head[0] & 0x0F, data


def socket_attacks():
    print("\n6. event socket floods (SEG_EVENTS_MAX_PER_ADDRESS=40, SEG_EVENTS_MAX_PER_USER=5)", flush=True)
    opened, refused = [], 0
    for _ in range(60):
        s, line, answer = ws_open()
        if line.startswith("HTTP/1.1 101"):
            opened.append(s)
        else:
            refused += b"TOO_MANY_SOCKETS" in answer or b"RATE_LIMITED" in answer
            s.close()
    print(f"      60 unauthenticated upgrades from one address: {len(opened)} opened, {refused} refused with 429")
    check(len(opened) <= 40 and len(opened) + refused == 60, "the address got no more than its 40 sockets")
    for s in opened:
        s.close()
    time.sleep(0.5)
    token = register("sockets@example.org")["accessToken"]
    ready, closed = 0, 0
    held = []
    for _ in range(7):
        s, line, _ = ws_open()
        if not line.startswith("HTTP/1.1 101"):
            continue
        s.sendall(ws_frame(json.dumps({"type": "auth", "token": token})))
        opcode, data = ws_read_text(s)
        message = json.loads(data) if opcode == 1 else {}
        if message.get("type") == "ready":
            ready += 1
        elif message.get("code") == "TOO_MANY_SOCKETS":
            closed += 1
        held.append(s)
    for s in held:
        s.close()
    print(f"      7 authenticated sockets of one account: {ready} ready, {closed} closed with TOO_MANY_SOCKETS")
    check(ready == 5 and closed == 2, "the account got no more than its 5 sockets")


def token_attacks():
    print("\n8. token edges: a token from before a password change, a logged-out session's token", flush=True)
    session = register("tokens@example.org")
    token = session["accessToken"]
    status, _ = request("POST", "/api/v1/auth/password", {"currentPassword": "correct horse battery", "newPassword": "another long one"},
                        token=token)
    assert status == 204, status
    status, answer = request("GET", "/api/v1/auth/me", token=token)
    check(status == 401, f"a token issued just before the password change: {status} {answer.get('code') if isinstance(answer, dict) else ''}")
    status, fresh = request("POST", "/api/v1/auth/login", {"email": "tokens@example.org", "password": "another long one"})
    assert status == 200, status
    status, _ = request("POST", "/api/v1/auth/logout", {"refreshToken": fresh["refreshToken"]})
    assert status == 204, status
    status, answer = request("GET", "/api/v1/auth/me", token=fresh["accessToken"])
    check(status == 401, f"the access token of a logged-out session: {status}")


def rss_kb(pid):
    """The resident set of process `pid` in KiB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bomb(interlaced=False):
    """The issue's pixel bomb: a 10000×10000 16-bit RGBA PNG of zeros (800 MB of samples, about 760 KiB of file)."""
    width = height = 10_000
    compressor = zlib.compressobj(9)
    parts = []
    if interlaced:
        # Adam7: the seven passes' rows, each with its filter byte.
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            row = b"\0" * (1 + (width - x0 + dx - 1) // dx * 8)
            parts += [compressor.compress(row) for _ in range((height - y0 + dy - 1) // dy)]
    else:
        row = b"\0" * (1 + width * 8)
        parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 1 if interlaced else 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def upload_answer(token, project, name, data):
    boundary = "seghub-attack-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode() + data + f"\r\n--{boundary}--\r\n".encode())
    return request("POST", f"/api/v1/projects/{project}/images", token=token, raw=body,
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=600)


def pixel_bomb_attack():
    pid = int(os.environ.get("SEG_SERVER_PID", "0"))
    budget = int(os.environ.get("SEG_DECODE_MEMORY_BYTES", "0"))
    print(f"\n2. pixel bombs: a 10000×10000 16-bit RGBA PNG (SEG_DECODE_MEMORY_BYTES={budget >> 20} MiB)", flush=True)
    if not pid:
        check(False, "SEG_SERVER_PID is not set: the RSS cannot be read")
        return
    png_bomb = bomb()
    interlaced = bomb(interlaced=True)
    token = register("bomber@example.org")["accessToken"]
    target = project(token, "bombs")
    peak = [0]
    sampling = [True]

    def sample():
        while sampling[0]:
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.01)

    def measured(action):
        """(result, RSS growth in MiB over the RSS before) of `action`, sampled every 10 ms."""
        before = rss_kb(pid)
        peak[0] = before
        sampling[0] = True
        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        try:
            result = action()
        finally:
            sampling[0] = False
            sampler.join()
        return result, (peak[0] - before) / 1024, time.monotonic() - started

    print(f"      segserver RSS before: {rss_kb(pid) / 1024:.0f} MB")
    (status, answer), growth, took = measured(lambda: upload_answer(token, target, "bomb.png", png_bomb))
    stored = status == 201 and len(answer.get("items", [])) == 1
    print(f"      one bomb ({len(png_bomb) >> 10} KiB): {status}, stored {stored}, RSS +{growth:.0f} MB in {took:.1f} s")
    check(stored and growth < 200, f"one pixel bomb is stored with its previews and adds {growth:.0f} MB RSS (< 200)")

    results = []

    def ten():
        threads = [threading.Thread(target=lambda k=k: results.append(upload_answer(token, target, f"bomb{k}.png", png_bomb)))
                   for k in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    _, growth, took = measured(ten)
    statuses = sorted(status for status, _ in results)
    print(f"      ten at once: statuses {statuses}, RSS +{growth:.0f} MB in {took:.1f} s")
    check(statuses == [201] * 10 and growth * (1 << 20) < budget,
          f"ten pixel bombs at once are stored and stay inside the budget (+{growth:.0f} MB of {budget >> 20} MiB)")

    (status, answer), growth, took = measured(lambda: upload_answer(token, target, "adam7.png", interlaced))
    codes = [error.get("code") for error in answer.get("errors", [])] if isinstance(answer, dict) else []
    print(f"      interlaced bomb (decoded whole: over the budget): {status} {codes}, RSS +{growth:.0f} MB")
    check(codes == ["IMAGE_TOO_LARGE"] and growth < 200, f"an interlaced bomb is refused with IMAGE_TOO_LARGE (+{growth:.0f} MB)")


def confirm_address(email):
    """Confirms an account's address with the token of the verification message queued for it (the server has no
    SMTP here: the message waits in the outbox, read with psql as its reader would take the link)."""
    query = ("SELECT body_text FROM mail_outbox WHERE lower(recipient) = lower('%s') AND template = 'verify-email' "
             "ORDER BY created_at DESC LIMIT 1" % email.replace("'", "''"))
    text = subprocess.run(["psql", os.environ["SEG_DB_URL"], "-tAc", query], check=True, capture_output=True, text=True).stdout
    token = text.split("/verify-email?token=", 1)[1].split()[0]
    status, answer = request("POST", "/api/v1/auth/verify-email", {"token": token})
    assert status == 204, (status, answer)


def enumeration_attack():
    print("\n9. member enumeration: an owner adds an address that has an account and one that has none", flush=True)
    owner = register("enum-owner@example.org")["accessToken"]
    register("Enum.Known@Example.org")
    # A confirmed account is added at once; an unconfirmed one is invited like an address without an account.
    confirm_address("Enum.Known@Example.org")
    members = f"/api/v1/projects/{project(owner, 'enumeration')}/members"
    # Same length local parts, typed in another case than the account's: nothing but the address itself may differ.
    addresses = {"known": "enum.known@EXAMPLE.org", "unknown": "enum.ghost@EXAMPLE.org"}
    answers = {label: request("POST", members, {"email": email, "role": "viewer"}, token=owner) for label, email in addresses.items()}
    for label, (status, body) in answers.items():
        keys = sorted(body) if isinstance(body, dict) else body
        print(f"      {label:8} {addresses[label]}: {status} {keys}")
    (known_status, known), (unknown_status, unknown) = answers["known"], answers["unknown"]
    same_keys = isinstance(known, dict) and isinstance(unknown, dict) and sorted(known) == sorted(unknown)
    check(known_status == unknown_status == 201 and same_keys,
          f"the same status and keys for both: {known_status} and {unknown_status}, identical keys: {same_keys}")
    swapped = [{**body, "email": body.get("email", "").replace(addresses[label].split("@")[0], "X")} if isinstance(body, dict) else body
               for label, body in [("known", known), ("unknown", unknown)]]
    check(swapped[0] == swapped[1], "the same values once the address is swapped (no account name, id or stored spelling)")

    # Timing: role changes of each, alternating, so that both take their steady path many times.
    timings, statuses = {"known": [], "unknown": []}, {"known": set(), "unknown": set()}
    for turn in range(40):
        for label, email in addresses.items():
            started = time.perf_counter()
            status, _ = request("POST", members, {"email": email, "role": "editor" if turn % 2 == 0 else "viewer"}, token=owner)
            timings[label].append(time.perf_counter() - started)
            statuses[label].add(status)
    print(f"      role changes: median {statistics.median(timings['known']) * 1000:.1f} ms with an account, "
          f"{statistics.median(timings['unknown']) * 1000:.1f} ms without (40 each, not judged)")
    check(statuses["known"] == statuses["unknown"] == {201},
          f"every role change answered 201: {sorted(statuses['known'])} with an account, {sorted(statuses['unknown'])} without")

    status, listing = request("GET", members, token=owner)
    pending = [item for item in listing.get("items", []) if item.get("pending")] if isinstance(listing, dict) else []
    keys = sorted(pending[0]) if pending else []
    print(f"      the owner's list: {len(pending)} pending, keys {keys}")
    check(status == 200 and len(pending) == 1 and "name" not in keys and "userId" not in keys,
          "the owner's list shows the invitee by address only")


def main():
    # First, while the server's heap is still small: its RSS growth is then the bombs' own.
    pixel_bomb_attack()
    polygon_attack()
    body_attacks()
    half_open_attack()
    priority_attack()
    socket_attacks()
    token_attacks()
    enumeration_attack()
    if failures:
        print(f"\n{len(failures)} attack(s) got through:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nevery attack above failed safely")


if __name__ == "__main__":
    main()
