#!/usr/bin/env python3
"""A webhook receiver for Alertmanager in scripts/checks/test-monitoring.sh: every notification it receives is
appended to FILE, one JSON line per alert ({"received", "path", "status", "alertname", "labels"}).

Usage: alert_receiver.py serve PORT FILE
       alert_receiver.py wait FILE ALERTNAME STATUS SINCE TIMEOUT
           waits until FILE holds ALERTNAME with STATUS (firing|resolved) received after SINCE (Unix time); prints
           the seconds from SINCE to its arrival; exit 1 after TIMEOUT seconds.
"""
import http.server
import json
import sys
import time


def serve(port, path):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with open(path, "a") as out:
                for alert in body.get("alerts", []):
                    out.write(json.dumps({"received": time.time(), "path": self.path, "status": alert.get("status"),
                                          "alertname": alert.get("labels", {}).get("alertname"),
                                          "labels": alert.get("labels", {})}) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def wait(path, name, status, since, timeout):
    since, deadline = float(since), time.time() + float(timeout)
    while time.time() < deadline:
        try:
            with open(path) as lines:
                for line in lines:
                    entry = json.loads(line)
                    if entry["alertname"] == name and entry["status"] == status and entry["received"] >= since:
                        print(f"{entry['received'] - since:.1f}")
                        return 0
        except FileNotFoundError:
            pass
        time.sleep(0.5)
    print(f"alert_receiver: no {status} {name} within {timeout} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit(wait(*sys.argv[2:7]))
