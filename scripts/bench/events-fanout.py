#!/usr/bin/env python3
"""Measures the event socket of a running segserver (standard library and psql only).

Usage: events-fanout.py BASE_URL DATABASE_URL [SOCKETS] [IMAGES] [FLOOD]

1. latency: one socket, 200 single-row status changes written with psql (another process); time
   from the change (the event's `at`, taken by the trigger) to its arrival on the socket, median and
   p99 (same machine, same clock; includes the commit, NOTIFY, the hub and the socket).
2. fan-out: SOCKETS sockets of project members; one UPDATE changes IMAGES images; time until
   every socket has every image.status event, and the messages per second delivered.
3. slow client: one socket that never reads while FLOOD events are written; the server must
   close it (code 4000) while a reading socket still receives everything; segserver's RSS is
   printed before and after (Linux /proc, when the server runs on this machine).
"""
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "checks"))
import e2e  # noqa: E402  (EventSocket, call)

BASE, DATABASE = sys.argv[1].rstrip("/"), sys.argv[2]
SOCKETS = int(sys.argv[3]) if len(sys.argv) > 3 else 100
IMAGES = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
FLOOD = int(sys.argv[5]) if len(sys.argv) > 5 else 60000
e2e.BASE = BASE


def psql(sql):
    return subprocess.run(["psql", DATABASE, "-qtAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def server_rss():
    port = BASE.rsplit(":", 1)[-1]
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
        pid = out.split("pid=")[1].split(",")[0]
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return line.split(":")[1].strip()
    except (IndexError, OSError):
        pass
    return "unknown"


def main():
    email = f"fanout-{uuid.uuid4().hex[:8]}@example.org"
    status, payload, _ = e2e.call("POST", "/api/v1/auth/register", {"email": email, "password": "fanout password 1"})
    e2e.expect(status, 201, payload, "register")
    token = json.loads(payload)["accessToken"]
    user = json.loads(payload)["user"]["id"]
    status, payload, _ = e2e.call("POST", "/api/v1/projects", {"name": "fan-out"}, token)
    e2e.expect(status, 201, payload, "project")
    project = json.loads(payload)["id"]
    psql(
        "INSERT INTO images (project_id, name, object_key, width, height, format, bytes) "
        f"SELECT '{project}', 'i' || g, repeat(md5(g::text), 2), 16, 16, 'png', 1 FROM generate_series(1, {IMAGES}) g"
    )
    first_image = psql(f"SELECT id FROM images WHERE project_id = '{project}' ORDER BY name LIMIT 1")

    # 1. latency
    probe = e2e.open_events(token)
    samples = []
    for index in range(200):
        new = "queued" if index % 2 == 0 else "new"
        psql(f"UPDATE images SET status = '{new}' WHERE id = '{first_image}'")
        while True:
            message = probe.receive()
            if message and message.get("type") == "image.status" and message["status"] == new:
                break
        arrived = time.time()
        at = datetime.datetime.fromisoformat(message["at"].replace("Z", "+00:00")).timestamp()
        samples.append((arrived - at) * 1000)
    samples.sort()
    print(f"latency change→socket over {len(samples)} changes: median {statistics.median(samples):.2f} ms, "
          f"p99 {samples[int(len(samples) * 0.99) - 1]:.2f} ms, max {samples[-1]:.2f} ms")
    probe.close()

    # 2. fan-out
    sockets = [e2e.open_events(token) for _ in range(SOCKETS)]
    counts = [0] * SOCKETS
    done = threading.Event()
    finished = []

    def reader(index, events):
        events.sock.settimeout(120)
        while counts[index] < IMAGES:
            message = events.receive()
            if message is None:
                return
            if message.get("type") == "image.status" and message["status"] == "processing":
                counts[index] += 1
        finished.append(time.perf_counter())
        if len(finished) == SOCKETS:
            done.set()

    threads = [threading.Thread(target=reader, args=(i, s), daemon=True) for i, s in enumerate(sockets)]
    for thread in threads:
        thread.start()
    rss_before = server_rss()
    started = time.perf_counter()
    psql(f"UPDATE images SET status = 'processing' WHERE project_id = '{project}'")
    if not done.wait(300):
        print(f"fan-out: incomplete, counts min {min(counts)} max {max(counts)}")
        sys.exit(1)
    elapsed = max(finished) - started
    print(f"fan-out: {IMAGES} events × {SOCKETS} sockets = {IMAGES * SOCKETS} messages in {elapsed:.2f} s "
          f"({IMAGES * SOCKETS / elapsed:,.0f} messages/s); server RSS {rss_before} → {server_rss()}")
    for events in sockets:
        events.close()

    # 3. slow client
    slow = e2e.open_events(token)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reading = e2e.open_events(token)
    got = [0]

    def read_all():
        reading.sock.settimeout(300)
        while got[0] < FLOOD:
            message = reading.receive()
            if message is None:
                return
            if message.get("type") == "image.status":
                got[0] += 1

    thread = threading.Thread(target=read_all, daemon=True)
    thread.start()
    rss_before = server_rss()
    rounds = (FLOOD + IMAGES - 1) // IMAGES
    for index in range(rounds):
        new = "queued" if index % 2 == 0 else "processing"
        psql(f"UPDATE images SET status = '{new}' WHERE project_id = '{project}'")
    thread.join(300)
    rss_after = server_rss()
    # Now read what the slow socket was sent: its queue was dropped and it was closed.
    slow.sock.settimeout(60)
    received = 0
    try:
        while True:
            message = slow.receive()
            if message is None:
                break
            received += 1
    except (ConnectionError, socket.timeout, OSError) as error:
        print(f"slow client: connection ended ({error})")
    print(f"slow client: got {received} messages of {rounds * IMAGES}, then close code {slow.close_code}; "
          f"the reading socket got {got[0]}; server RSS {rss_before} → {rss_after}")


if __name__ == "__main__":
    main()
