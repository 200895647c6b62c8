#!/usr/bin/env bash
# End-to-end test of segserver for real: a throwaway PostgreSQL, segserver (the debug build that
# scripts/test.sh made, or a fresh one) with two workers, then scripts/checks/e2e.py drives the API
# (register, upload generated spheroids, segment while waiting for the results on the event socket,
# correct polygons, health, metrics). Finally the
# database is stopped (readiness must turn 503, liveness stay 200) and started again (readiness
# back to 200 and the event listener listening again, without restarting segserver); a worker is killed
# mid-job; and the reference inference server is stopped in the middle of a batch of model jobs and
# started again (every image segmented exactly once), then stopped for good (the job fails with the
# reason, readiness is degraded). Then mail through a real SMTP server (scripts/dev/smtp.sh): confirming an
# address, a password reset and an invitation, each link read from the received message and followed against
# the live server; and a mail worker killed after the server accepted a message but before it marked it sent
# (the message stays delivered once; docs/decisions.md "Mail"). Everything lives in a temporary folder removed
# on exit.
# Usage: scripts/checks/e2e.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3

seg_workspace e2e
work="$SEG_WORK"

seg_step "e2e: building segserver and segctl (debug)"
seg_build segserver segctl

seg_step "e2e: starting PostgreSQL and segserver"
seg_start_database "$SEG_PG_DIR"
# Log level info: the access log's lines are checked at the end (check-json-log.py).
seg_start_segserver SEG_WORKERS=2 SEG_LOG_LEVEL=info
url="$SEG_URL"
server_pid="$SEG_SERVER_PID"
wait_for() { seg_wait_http "$url$1" "$2" "$3" "$server_pid" "$work/segserver.log"; }  # wait_for PATH STATUS SECONDS

seg_step "e2e: driving the API"
python3 scripts/checks/e2e.py "$url" || { tail -n 40 "$work/segserver.log" >&2; exit 1; }

seg_step "e2e: database outage"
bash scripts/dev/postgres.sh stop "$SEG_PG_DIR" >/dev/null
wait_for /api/health 503 30
wait_for /health 200 5
echo "e2e: readiness is 503 and liveness 200 while the database is down" >&2
bash scripts/dev/postgres.sh start "$SEG_PG_DIR" "$SEG_DB_PORT" >/dev/null
wait_for /api/health 200 60
echo "e2e: readiness is back to 200 without a restart" >&2
listener_ok() {
    curl -s "$url/api/health" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["checks"].get("websocket",{}).get("status")=="ok" else 1)'
}
deadline=$((SECONDS + 60))
until listener_ok; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: the event listener did not reconnect" >&2; exit 1; }
    sleep 0.3
done
echo "e2e: the event listener is listening again" >&2

seg_step "e2e: graceful stop"
if seg_stop "$server_pid"; then
    echo "e2e: segserver stopped cleanly on SIGTERM" >&2
else
    echo "e2e: segserver exited $? on SIGTERM" >&2
    exit 1
fi

seg_step "e2e: a worker killed with SIGKILL mid-job"
# An API-only server, and a worker process with a short lease that is killed while it segments a large
# image; a second worker process must take the job over after the lease and finish it exactly once.
# All three share one JWT secret.
kill_test=(SEG_JWT_SECRET="e2e-secret-for-the-kill-test-0123456789abcdef" SEG_JOB_LEASE_SECONDS=5 SEG_WORKERS=1)
seg_start_segserver "${kill_test[@]}" -- --role api
url="$SEG_URL"
seg_start_segserver "${kill_test[@]}" -- --role worker
first_worker="$SEG_SERVER_PID"
queued="$(python3 scripts/checks/e2e.py "$url" queue-large)"
image="${queued%% *}"
kill_token="${queued#* }"
# The event socket on the API process must hear of the result that a worker process writes.
python3 scripts/checks/e2e.py "$url" watch "$kill_token" "$image" "$work/watch-ready" >&2 &
watcher=$!
seg_track "$watcher"
deadline=$((SECONDS + 60))
until [ -e "$work/watch-ready" ]; do
    [ $SECONDS -lt $deadline ] || { echo "e2e: the event watcher did not authenticate" >&2; exit 1; }
    kill -0 "$watcher" 2>/dev/null || { echo "e2e: the event watcher failed" >&2; exit 1; }
    sleep 0.05
done
psql_q() { psql "$SEG_DB_URL" -tAc "$1"; }
seg_await_job_held "$image" "$first_worker" 120 || exit 1
seg_stop "$first_worker" KILL || true
echo "e2e: killed worker $first_worker while it held the job" >&2
seg_start_segserver "${kill_test[@]}" -- --role worker
second_worker="$SEG_SERVER_PID"
job="$(seg_expect_handover "$image" "$second_worker" 180)" || exit 1
seg_stop "$second_worker" || true
echo "e2e: the second worker finished the job after the lease ($job); one result version" >&2
wait "$watcher" || { echo "e2e: the API process's event socket did not report the result" >&2; exit 1; }

seg_step "e2e: the model server killed in the middle of a batch, then down for good"
# The reference inference server with the bundled model; segserver reaches it through a registry naming its port.
seg_on_exit() { bash scripts/dev/inference.sh stop "$work/inference" >/dev/null 2>&1 || true; }
inference_port="$(seg_free_port)"
inference_url="$(bash scripts/dev/inference.sh start "$work/inference" "$inference_port" | tail -n 1)"
sed "s#http://127.0.0.1:8085#$inference_url#" models/registry.json >"$work/models.json"
seg_start_segserver SEG_MODELS_FILE="$work/models.json" SEG_INFERENCE_TIMEOUT=10 SEG_WORKERS=2
url="$SEG_URL"
failed_image="$(python3 scripts/checks/e2e.py "$url" models "$work/inference" "$inference_port" | tail -n 1)" \
    || { tail -n 40 "$work/segserver.log" >&2; exit 1; }
reason="$(psql_q "SELECT state || ': ' || coalesce(last_error, '') FROM jobs WHERE image_id = '$failed_image'")"
case "$reason" in
    "failed: "*"cannot be reached"* | "failed: "*"did not answer"*) ;;
    *) echo "e2e: unexpected job of the image the model could not segment: $reason" >&2; exit 1 ;;
esac
echo "e2e: its job ended failed with the reason ($reason)" >&2

seg_step "e2e: mail through a real SMTP server, every link followed"
seg_start_smtp "$work/smtp"
mail_settings=(SEG_SMTP_URL="$SEG_SMTP_URL" SEG_MAIL_FROM="SegHub <seghub@lab.example>")
seg_start_segserver "${mail_settings[@]}" SEG_REQUIRE_EMAIL_VERIFICATION=true
python3 scripts/checks/e2e.py "$SEG_URL" mail "$SEG_SMTP_DIR/inbox" >&2 || { tail -n 40 "$work/segserver.log" >&2; exit 1; }
seg_stop "$SEG_SERVER_PID" || true

seg_step "e2e: a mail worker killed after the server accepted a message, before it marked it sent"
# The recipient's local part makes the SMTP server store the message at once and answer 250 only 5 s later. Once
# the row is being sent, this script holds its row lock, so that marking it sent waits after the 250; the worker is
# killed right there. The documented outcome: the message is not sent again by itself; once the attempt is 10
# minutes old (here: moved back by the database's clock) it is failed with the reason, and segctl mail retry sends it.
mail_kill=("${mail_settings[@]}" SEG_JWT_SECRET="e2e-secret-for-the-mail-kill-test-0123456789")
seg_start_segserver "${mail_kill[@]}" -- --role api
api_url="$SEG_URL"
seg_start_segserver "${mail_kill[@]}" -- --role worker
mail_worker="$SEG_SERVER_PID"
victim="slowok.$RANDOM@example.org"
status="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"email\": \"$victim\", \"password\": \"correct horse battery\"}" "$api_url/api/v1/auth/register")"
[ "$status" = 201 ] || { echo "e2e: registering $victim answered $status" >&2; exit 1; }
await() { # await SECONDS WHAT COMMAND...: runs COMMAND until it succeeds
    local deadline=$((SECONDS + $1)) what="$2"
    shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || { echo "e2e: $what did not happen" >&2; exit 1; }
        sleep 0.1
    done
}
mail_id=""
sending() { mail_id="$(psql_q "SELECT id FROM mail_outbox WHERE recipient = '$victim' AND state = 'sending'")"; [ -n "$mail_id" ]; }
await 60 "the worker claiming the message" sending
psql "$SEG_DB_URL" -qX -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL &
BEGIN;
SELECT 1 FROM mail_outbox WHERE id = '$mail_id' FOR UPDATE;
\! touch $work/mail-row-locked
\! for _ in \$(seq 600); do [ -e $work/mail-row-release ] && break; sleep 0.1; done
COMMIT;
SQL
locker=$!
seg_track "$locker"
await 30 "locking the message's row" test -e "$work/mail-row-locked"
stored() { [ "$(python3 -c 'import sys; sys.path.insert(0, "scripts/lib"); import inbox; print(len(inbox.messages(sys.argv[1], sys.argv[2])))' "$SEG_SMTP_DIR/inbox" "$victim")" = "$1" ]; }
await 30 "the server storing the message" stored 1
marking_waits() { [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE mail_outbox SET state = ''sent''%'")" = 1 ]; }
await 30 "the worker hearing 250 and waiting to mark the message sent" marking_waits
seg_stop "$mail_worker" KILL || true
# The dead worker's statement still waits in its server process, which notices the lost client only when it next
# talks to it, after running the UPDATE: end it first, as the connection's loss would have if no lock held it.
psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE mail_outbox SET state = ''sent''%'" >/dev/null
touch "$work/mail-row-release"
wait "$locker" || true
echo "e2e: killed mail worker $mail_worker after the server's 250, while its mark waited" >&2
[ "$(psql_q "SELECT state FROM mail_outbox WHERE id = '$mail_id'")" = sending ] || { echo "e2e: the row is not left 'sending'" >&2; exit 1; }
psql_q "UPDATE mail_outbox SET sending_since = sending_since - interval '11 minutes' WHERE id = '$mail_id'" >/dev/null
seg_start_segserver "${mail_kill[@]}" -- --role worker
failed() { [ "$(psql_q "SELECT state FROM mail_outbox WHERE id = '$mail_id'")" = failed ]; }
await 30 "a new worker failing the interrupted message" failed
reason="$(psql_q "SELECT last_error FROM mail_outbox WHERE id = '$mail_id'")"
case "$reason" in
    *"interrupted"*"not sent again by itself"*) ;;
    *) echo "e2e: unexpected reason: $reason" >&2; exit 1 ;;
esac
sleep 5
stored 1 || { echo "e2e: the interrupted message was delivered again by itself" >&2; exit 1; }
echo "e2e: a new worker failed it with the reason and did not send it again (one copy received): $reason" >&2
SEG_DATABASE_URL="$SEG_DB_URL" "$SEG_BIN/segctl" mail retry "$mail_id" >&2
sent() { [ "$(psql_q "SELECT state FROM mail_outbox WHERE id = '$mail_id'")" = sent ]; }
await 60 "segctl mail retry sending it" sent
stored 2 || { echo "e2e: the retried message did not arrive" >&2; exit 1; }
echo "e2e: segctl mail retry sent it again on request (a second copy, as documented)" >&2
seg_step "e2e: every line segserver logged is a JSON object (SEG_LOG_FORMAT=json)"
python3 scripts/checks/check-json-log.py "$work/segserver.log" || exit 1
echo "e2e: all checks passed" >&2
