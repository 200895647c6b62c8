#!/usr/bin/env bash
# Rollback: sends traffic back to the other colour in seconds. The other colour normally still runs
# (scripts/deploy/deploy-blue-green.sh keeps it); when it is down it is started and must become ready first.
# Then nginx is switched (checked, reloaded, previous file restored on failure) and the answer
# through nginx verified; exits non-zero when any of it fails.
# Settings: see scripts/lib/deploy.sh. Usage: scripts/deploy/rollback-deployment.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/deploy.sh

active="$(active_colour)"
[ -n "$active" ] || { echo "no active colour in $DEPLOY_UPSTREAM_FILE: nothing to roll back" >&2; exit 1; }
target="$(other_colour "$active")"
mkdir -p "$DEPLOY_RUN_DIR"
deploy_log "rollback: from $active to $target (release $(env_value "$target" SEGHUB_RELEASE || echo '?'))"

if ! runtime_running "$target"; then
    runtime_start "$target" || deploy_fail "$target did not start; traffic stays on $active"
    deploy_log "started $target (it was down)"
fi
wait_ready "$target" "$DEPLOY_HEALTH_TIMEOUT" || deploy_fail "$target is not ready; traffic stays on $active"
deploy_log "$target is ready"
switch_nginx "$target" || deploy_fail "nginx refused the upstream file (previous file restored); traffic stays on $active"
deploy_log "nginx: switched to $target"
verify_public "$target" || deploy_fail "nginx does not answer from $target"
deploy_log "verified through nginx: $target is live; $active keeps running"
