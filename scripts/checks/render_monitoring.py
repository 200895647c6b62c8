#!/usr/bin/env python3
"""Renders our Prometheus and Alertmanager files for scripts/checks/test-monitoring.sh: the same jobs, rules and
routes, with the targets moved to the test's loopback ports, and (for the test only) the scrape and evaluation
interval and Alertmanager's waits shortened so that an alert's own `for` is what the test waits for.

Usage: render_monitoring.py prometheus SRC OUT RULES_FILE SEGHUB NODE POSTGRES ALERTMANAGER INTERVAL
       render_monitoring.py alertmanager SRC OUT WEBHOOK_BASE WAIT
"""
import sys

import yaml


def prometheus(src, out, rules, seghub, node, postgres, alertmanager, interval):
    with open(src) as handle:
        config = yaml.safe_load(handle)
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [rules]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    targets = {"seghub": seghub, "node": node, "postgres": postgres}
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    if jobs != set(targets):
        sys.exit(f"render_monitoring: prometheus.yml has the jobs {sorted(jobs)}, the test knows {sorted(targets)}")
    for job in config["scrape_configs"]:
        # One target per job, keeping the first group's labels (a colour for segserver).
        labels = job["static_configs"][0].get("labels")
        job["static_configs"] = [dict({"targets": [targets[job["job_name"]]]}, **({"labels": labels} if labels else {}))]
        if job["job_name"] == "postgres":
            # postgres-exporter answers a scrape only after its own connection attempt gives up (about 3 s) while
            # PostgreSQL is down: a 1 s scrape would time out and lose pg_up = 0, which is what the test waits for.
            job["scrape_interval"] = job["scrape_timeout"] = "5s"
    with open(out, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)


def alertmanager(src, out, webhook, wait):
    with open(src) as handle:
        config = yaml.safe_load(handle)

    def shorten(route):
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = wait
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    config["route"].setdefault("group_interval", wait)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            path = hook["url"].split("/", 3)[3] if hook["url"].count("/") >= 3 else ""
            hook["url"] = f"{webhook}/{path}"
    with open(out, "w") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)


if __name__ == "__main__":
    if sys.argv[1] == "prometheus":
        prometheus(*sys.argv[2:10])
    else:
        alertmanager(*sys.argv[2:6])
