#!/usr/bin/env python3
"""Checks a segserver log written with SEG_LOG_FORMAT=json (issue 18): every line must be one JSON object with
`time` (RFC 3339, UTC), `level`, `message` and `logger`; every access-log line (`message` "request") must also have
`request_id`, `method`, `path`, `status` (a number), `duration_ms` (a number) and `client`, and `route` whenever the
router matched one. At least one access line must name its authenticated `user_id`. Prints what it counted.

Usage: check-json-log.py LOG
"""
import collections
import json
import re
import sys

LEVELS = {"trace", "debug", "info", "notice", "warning", "error", "critical"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ACCESS = {"request_id": str, "method": str, "path": str, "status": int, "duration_ms": (int, float), "client": str}


def main(path):
    problems, levels, requests, with_user, with_route = [], collections.Counter(), 0, 0, 0
    with open(path, encoding="utf-8") as log:
        lines = log.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        def problem(text):
            problems.append(f"line {number}: {text}: {line[:200]!r}")
        try:
            entry = json.loads(line)
        except ValueError as error:
            problem(f"not JSON ({error})")
            continue
        if not isinstance(entry, dict):
            problem("not an object")
            continue
        if not TIME.match(str(entry.get("time", ""))):
            problem("no RFC 3339 UTC time")
        if entry.get("level") not in LEVELS:
            problem("no level")
        if not isinstance(entry.get("message"), str) or not isinstance(entry.get("logger"), str):
            problem("no message or logger")
        levels[entry.get("level")] += 1
        if entry.get("message") != "request":
            continue
        requests += 1
        for field, kind in ACCESS.items():
            if not isinstance(entry.get(field), kind) or isinstance(entry.get(field), bool):
                problem(f"an access line without a valid {field}")
        if "user_id" in entry:
            with_user += 1
        if "route" in entry:
            with_route += 1
        elif entry.get("status") != 404:
            problem("an access line without its route")
    if requests == 0:
        problems.append("no access-log line at all")
    if with_user == 0:
        problems.append("no access-log line names its user")
    for text in problems[:20]:
        print(f"check-json-log: {text}", file=sys.stderr)
    summary = ", ".join(f"{count} {level}" for level, count in sorted(levels.items(), key=lambda item: str(item[0])))
    print(f"check-json-log: {len(lines)} lines, all JSON objects with time, level, message and logger ({summary}); "
          f"{requests} access lines with request id, method, path, status, duration and client, "
          f"{with_route} with their route, {with_user} with their user's id" if not problems else
          f"check-json-log: {len(problems)} problem(s) in {len(lines)} lines", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
