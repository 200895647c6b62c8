#!/usr/bin/env bash
# Blue-green deploy: the release named in the inactive colour's env file (.env.blue or .env.green)
# goes live behind nginx, and the active colour keeps running for a rollback.
#   1. detect the active colour from nginx's upstream file (none on a first deployment);
#   2. back up the database with the active release's `segctl backup create`;
#   3. stop whatever older release the inactive colour still runs, run the new release's
#      migrations (`segctl migrate`: expand-only, so the active colour keeps working), start it;
#   4. wait until its /api/health answers 200 (DEPLOY_HEALTH_TIMEOUT) and warm it up;
#   5. switch nginx: write the upstream file, `nginx -t`, reload (the previous file comes back if
#      either fails); verify through nginx that the new colour answers.
# Any failure before the switch leaves traffic where it was and exits non-zero; each step is logged
# with its time. Settings: see scripts/lib/deploy.sh (DEPLOY_RUNTIME=compose|process, ...).
# Usage: scripts/deploy/deploy-blue-green.sh [blue|green]   (default: the inactive colour)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deploy.sh

active="$(active_colour)"
if [ $# -ge 1 ]; then
    case "$1" in blue | green) target="$1" ;; *) echo "usage: scripts/deploy/deploy-blue-green.sh [blue|green]" >&2; exit 64 ;; esac
    [ "$target" != "$active" ] || { echo "$target is the active colour; deploy to the other one" >&2; exit 64; }
else
    target="$(other_colour "${active:-green}")"
fi
[ -f "$(colour_env_file "$target")" ] || { echo "missing $(colour_env_file "$target")" >&2; exit 64; }
mkdir -p "$DEPLOY_RUN_DIR"
deploy_log "deploy: active ${active:-none}, deploying $target (release $(env_value "$target" SEGHUB_RELEASE || echo '?'), runtime $DEPLOY_RUNTIME)"

if [ -n "$active" ] && [ "$DEPLOY_SKIP_BACKUP" != "1" ]; then
    runtime_segctl "$active" backup create >&2 || deploy_fail "backup of the database failed; nothing changed"
    deploy_log "backup: done"
fi

if runtime_running "$target"; then
    runtime_stop "$target"
    deploy_log "stopped the previous release of $target"
fi
runtime_segctl "$target" migrate >&2 || deploy_fail "migrations failed; traffic stays on ${active:-nothing}"
deploy_log "migrations: applied"
runtime_start "$target" || deploy_fail "$target did not start; traffic stays on ${active:-nothing}"
deploy_log "started $target"
if ! wait_ready "$target" "$DEPLOY_HEALTH_TIMEOUT"; then
    runtime_stop "$target"
    deploy_fail "$target never became ready (stopped again); traffic stays on ${active:-nothing}"
fi
deploy_log "$target is ready"

port="$(colour_port "$target")"
for path in /health /api/health /api/v1/openapi.json; do
    for _ in 1 2 3 4 5; do curl -s -o /dev/null -m 5 "http://127.0.0.1:$port$path" || true; done
done
deploy_log "warmed up"

switch_nginx "$target" || deploy_fail "nginx refused the new upstream file (previous file restored); traffic stays on ${active:-nothing}"
deploy_log "nginx: switched to $target"
verify_public "$target" || deploy_fail "nginx does not answer from $target; run scripts/deploy/rollback-deployment.sh"
deploy_log "verified through nginx: $target is live${active:+; $active keeps running for a rollback}"
