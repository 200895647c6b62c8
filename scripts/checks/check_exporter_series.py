#!/usr/bin/env python3
"""The host's and PostgreSQL's series that deploy/prometheus/alerts.yml and the Grafana dashboard name (node_…,
pg_…) exist in a Prometheus that scrapes the real node-exporter and postgres-exporter (scripts/checks/
test-monitoring.sh). segserver's own series are checked by MonitoringConfigTests.

Usage: check_exporter_series.py PROMETHEUS_URL
"""
import json
import re
import sys
import urllib.parse
import urllib.request

import yaml

NAMES = re.compile(r"(?<![\w\"'])((?:node|pg)_[a-zA-Z0-9_]+)")


def main(prometheus):
    with open("deploy/prometheus/alerts.yml") as handle:
        expressions = [rule["expr"] for group in yaml.safe_load(handle)["groups"] for rule in group["rules"]]
    with open("deploy/grafana/seghub-dashboard.json") as handle:
        expressions += [target["expr"] for panel in json.load(handle)["panels"] for target in panel.get("targets", []) if "expr" in target]
    names = sorted({name for expression in expressions for name in NAMES.findall(expression)})
    missing = []
    for name in names:
        query = urllib.parse.urlencode({"query": f'count({{__name__="{name}"}})'})
        with urllib.request.urlopen(f"{prometheus}/api/v1/query?{query}", timeout=10) as answer:
            if not json.load(answer)["data"]["result"]:
                missing.append(name)
    for name in missing:
        print(f"check_exporter_series: {name} is named but no exporter exports it", file=sys.stderr)
    if not names:
        print("check_exporter_series: no exporter series named at all", file=sys.stderr)
        return 1
    if not missing:
        print(f"check_exporter_series: all {len(names)} exporter series named by the alerts and the dashboard exist: "
              f"{', '.join(names)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
