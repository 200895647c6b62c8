#!/usr/bin/env bash
# Operations you can watch and trust (issue 18), live on this machine:
#   1. promtool checks prometheus.yml and alerts.yml and runs alerts.test.yml (a firing and a quiet case for every
#      alert, which check-alert-tests.py makes sure of); amtool checks alertmanager.yml.
#   2. The chain: a real Prometheus with our prometheus.yml (targets moved to loopback ports; scrape and evaluation
#      every second, for the test only) scraping segserver, node-exporter and postgres-exporter, and a real
#      Alertmanager with our routing (its waits shortened, its webhooks pointed at a local receiver). The exporters'
#      series that the alerts and the dashboard name must exist. Then segserver is killed: SegHubAPIDown reaches the
#      receiver, and its resolution once segserver is back; PostgreSQL is stopped: SegHubNotReady and
#      SegHubPostgresDown reach it, and resolve once it is back. How long each took is printed.
#   3. The scheduled backups: deploy/systemd's units pass `systemd-analyze verify`, and the service's command line
#      (with systemd's variable expansion) runs a round: a verified backup, the pruning and the drill; then /metrics
#      shows the backup's and the drill's times; the compose service's loop (no --once) runs a round at the next
#      minute by itself.
# Everything lives in a temporary folder removed on exit.
# Usage: scripts/checks/test-monitoring.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 python3-yaml systemd \
    prometheus prometheus-alertmanager prometheus-node-exporter prometheus-postgres-exporter
seg_workspace monitoring
work="$SEG_WORK"

seg_step "monitoring: promtool and amtool on our files"
promtool check config deploy/prometheus/prometheus.yml >&2
promtool check rules deploy/prometheus/alerts.yml >&2
promtool test rules deploy/prometheus/alerts.test.yml >&2
python3 scripts/checks/check-alert-tests.py deploy/prometheus/alerts.yml deploy/prometheus/alerts.test.yml
amtool check-config deploy/alertmanager/alertmanager.yml >&2

seg_step "monitoring: building segserver and segctl (debug)"
seg_build segserver segctl

seg_step "monitoring: PostgreSQL, segserver, node-exporter, postgres-exporter, Alertmanager, Prometheus"
seg_start_database "$SEG_PG_DIR"
seg_start_segserver SEG_WORKERS=1 SEG_DATA_DIR="$work/data" SEG_BACKUP_DIR="$work/backups"
server_port="$SEG_PORT"
server_settings=(SEG_WORKERS=1 SEG_DATA_DIR="$work/data" SEG_BACKUP_DIR="$work/backups")
node_port="$(seg_free_port)"
prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" >"$work/node-exporter.log" 2>&1 &
seg_track $!
pg_exporter_port="$(seg_free_port)"
DATA_SOURCE_NAME="$SEG_DB_URL" prometheus-postgres-exporter --web.listen-address="127.0.0.1:$pg_exporter_port" \
    >"$work/postgres-exporter.log" 2>&1 &
seg_track $!
hook_port="$(seg_free_port)"
python3 scripts/checks/alert_receiver.py serve "$hook_port" "$work/alerts.jsonl" &
seg_track $!
am_port="$(seg_free_port)"
python3 scripts/checks/render_monitoring.py alertmanager deploy/alertmanager/alertmanager.yml "$work/alertmanager.yml" \
    "http://127.0.0.1:$hook_port" 1s
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
seg_track $!
prom_port="$(seg_free_port)"
python3 scripts/checks/render_monitoring.py prometheus deploy/prometheus/prometheus.yml "$work/prometheus.yml" \
    "$PWD/deploy/prometheus/alerts.yml" "127.0.0.1:$server_port" "127.0.0.1:$node_port" "127.0.0.1:$pg_exporter_port" \
    "127.0.0.1:$am_port" 1s
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
seg_track $!
prom="http://127.0.0.1:$prom_port"
# Every target up.
targets_up() {
    curl -fsS "$prom/api/v1/targets" 2>/dev/null | python3 -c '
import json, sys
targets = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if len(targets) == 3 and all(t["health"] == "up" for t in targets) else 1)' 2>/dev/null
}
for _ in $(seq 1 120); do targets_up && break; sleep 0.5; done
targets_up || { echo "monitoring: FAILED: not every target is up" >&2; curl -s "$prom/api/v1/targets" >&2; tail -n 20 "$work/prometheus.log" >&2; exit 1; }
echo "monitoring: Prometheus scrapes segserver, node-exporter and postgres-exporter; all up" >&2
python3 scripts/checks/check_exporter_series.py "$prom"

# await ALERT STATUS SINCE TIMEOUT: seconds from SINCE until the receiver had it.
await() { python3 scripts/checks/alert_receiver.py wait "$work/alerts.jsonl" "$@"; }

seg_step "monitoring: segserver killed: SegHubAPIDown (for: 2m) reaches the receiver; segserver back: it resolves"
since="$(date +%s.%N)"
seg_stop "$SEG_SERVER_PID" KILL || true
fired="$(await SegHubAPIDown firing "$since" 300)" || { tail -n 20 "$work/alertmanager.log" >&2; exit 1; }
echo "monitoring: SegHubAPIDown arrived ${fired} s after the kill" >&2
since="$(date +%s.%N)"
SEG_START_PORT="$server_port" seg_start_segserver "${server_settings[@]}"
resolved="$(await SegHubAPIDown resolved "$since" 120)" || exit 1
echo "monitoring: its resolution arrived ${resolved} s after segserver was started again" >&2

seg_step "monitoring: PostgreSQL stopped: SegHubNotReady and SegHubPostgresDown (for: 1m) arrive; started again: they resolve"
since="$(date +%s.%N)"
bash scripts/dev/postgres.sh stop "$SEG_PG_DIR" >/dev/null
not_ready="$(await SegHubNotReady firing "$since" 240)" || exit 1
pg_down="$(await SegHubPostgresDown firing "$since" 240)" || exit 1
echo "monitoring: SegHubNotReady arrived ${not_ready} s and SegHubPostgresDown ${pg_down} s after PostgreSQL stopped" >&2
since="$(date +%s.%N)"
bash scripts/dev/postgres.sh start "$SEG_PG_DIR" "$SEG_DB_PORT" >/dev/null
ready_again="$(await SegHubNotReady resolved "$since" 120)" || exit 1
pg_up="$(await SegHubPostgresDown resolved "$since" 120)" || exit 1
echo "monitoring: they resolved ${ready_again} s and ${pg_up} s after PostgreSQL started again" >&2

seg_step "monitoring: the scheduled backup round of deploy/systemd (create --verify, prune, drill), then /metrics"
mkdir -p "$work/systemd" "$work/backups" "$work/scratch"
printf 'SEG_DATABASE_URL=%s\nSEG_DATA_DIR=%s\nSEG_BACKUP_DIR=%s\nSEGHUB_DRILL_WEEKDAY=daily\n' \
    "$SEG_DB_URL" "$work/data" "$work/backups" >"$work/seghub.env"
for unit in seghub-backup.service seghub-backup.timer; do
    sed -e "s|/opt/seghub/bin/segctl|$SEG_BIN/segctl|" -e "s|/etc/seghub/seghub.env|$work/seghub.env|" \
        "deploy/systemd/$unit" >"$work/systemd/$unit"
done
systemd-analyze verify "$work/systemd/seghub-backup.timer" "$work/systemd/seghub-backup.service" >&2
echo "monitoring: systemd-analyze verify accepts the timer and the service" >&2
# The service's ExecStart, expanded as systemd does: Environment= first, the EnvironmentFile= over it.
mapfile -t round < <(python3 - "$work/systemd/seghub-backup.service" "$work/seghub.env" <<'PY'
import re, shlex, sys
unit, env_file = sys.argv[1], sys.argv[2]
variables, command = {}, None
for line in open(unit):
    line = line.strip()
    if line.startswith("Environment="):
        variables.update(item.split("=", 1) for item in shlex.split(line[len("Environment="):]))
    elif line.startswith("ExecStart="):
        command = line[len("ExecStart="):]
for line in open(env_file):
    if "=" in line:
        name, value = line.strip().split("=", 1)
        variables[name] = value
for word in shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], command)):
    print(word)
PY
)
echo "monitoring: running ${round[*]}" >&2
env $(cat "$work/seghub.env") TMPDIR="$work/scratch" "${round[@]}" >"$work/round.out" || {
    echo "monitoring: FAILED: the backup round" >&2
    cat "$work/round.out" >&2
    exit 1
}
[ "$(ls "$work/backups" | grep -c '^seghub-')" = 1 ] || { echo "monitoring: FAILED: no backup folder" >&2; exit 1; }
backup_at="$(curl -fsS "$SEG_URL/metrics" | awk '/^seghub_last_backup_timestamp_seconds / {print $2}')"
drill_at="$(curl -fsS "$SEG_URL/metrics" | awk '/^seghub_last_backup_drill_timestamp_seconds / {print $2}')"
python3 - "$backup_at" "$drill_at" <<'PY' || exit 1
import sys, time
backup, drill = (float(v or 0) for v in sys.argv[1:3])
if not (time.time() - 600 < backup <= time.time() + 5 and time.time() - 600 < drill <= time.time() + 5):
    sys.exit(f"monitoring: FAILED: /metrics says the last backup at {backup} and the last drill at {drill}")
print(f"monitoring: /metrics shows the round's backup ({time.time() - backup:.0f} s ago) and drill ({time.time() - drill:.0f} s ago)",
      file=sys.stderr)
PY

seg_step "monitoring: the compose backup service's loop (segctl backup schedule --at the next minute)"
# docker-compose.db.yml's `backup` service runs `segctl backup schedule --at HH:MM …` without --once: rounds at that
# time each day. Started here at the next whole minute, it must make a second backup folder by itself.
first_backup="$(ls "$work/backups" | grep '^seghub-')"
next_minute="$(date -u -d '+1 minute' +%H:%M)"
env $(cat "$work/seghub.env") TMPDIR="$work/scratch" "$SEG_BIN/segctl" backup schedule --at "$next_minute" \
    --drill-weekday never >"$work/schedule-loop.out" 2>&1 &
loop_pid=$!
seg_track "$loop_pid"
started=$SECONDS
# A new folder (the round's prune then removes the first: both are of the same day).
until ls "$work/backups" | grep '^seghub-' | grep -qv "^$first_backup\$"; do
    [ $((SECONDS - started)) -lt 150 ] && kill -0 "$loop_pid" 2>/dev/null || {
        echo "monitoring: FAILED: the schedule's loop made no backup at $next_minute UTC" >&2
        cat "$work/schedule-loop.out" >&2
        exit 1
    }
    sleep 1
done
for _ in $(seq 1 60); do grep -q "backup prune .*: ok" "$work/schedule-loop.out" && break; sleep 0.5; done
seg_stop "$loop_pid" TERM || true
grep -q "backup create --verify: ok" "$work/schedule-loop.out" && grep -q "backup prune .*: ok" "$work/schedule-loop.out" ||
    { echo "monitoring: FAILED: the loop's round" >&2; cat "$work/schedule-loop.out" >&2; exit 1; }
echo "monitoring: the loop ran its round at $next_minute UTC by itself ($((SECONDS - started)) s after it started)" >&2
echo "monitoring: all checks passed" >&2
