#!/usr/bin/env python3
"""Every alert of deploy/prometheus/alerts.yml has, in alerts.test.yml, a case where it fires (an alert_rule_test
with exp_alerts) and one where it stays quiet (one without), and the tests name no alert that does not exist.
promtool test rules runs them; this checks that none was forgotten.

Usage: check-alert-tests.py ALERTS_YML TESTS_YML
"""
import sys

import yaml


def main(alerts_path, tests_path):
    with open(alerts_path) as handle:
        alerts = [rule["alert"] for group in yaml.safe_load(handle)["groups"] for rule in group["rules"] if "alert" in rule]
    with open(tests_path) as handle:
        tests = yaml.safe_load(handle)["tests"]
    firing, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    problems = [f"{name}: no case where it fires" for name in alerts if name not in firing]
    problems += [f"{name}: no case where it stays quiet" for name in alerts if name not in quiet]
    problems += [f"{name}: tested but not in {alerts_path}" for name in sorted((firing | quiet) - set(alerts))]
    for problem in problems:
        print(f"check-alert-tests: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-alert-tests: all {len(alerts)} alerts have a firing and a quiet case ({len(tests)} test groups)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
