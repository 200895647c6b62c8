#!/usr/bin/env bash
# Renders deploy/nginx/nginx.prod.conf: replaces its ${SEGHUB_*} variables (and nothing else, so
# nginx's own $variables stay) with the environment's values or the defaults below, and prints the
# result. Every variable must end up set; a missing one is an error.
# Usage: SEGHUB_TLS_CERTIFICATE=... SEGHUB_TLS_CERTIFICATE_KEY=... scripts/deploy/render-nginx-conf.sh > /etc/nginx/nginx.conf
set -euo pipefail
cd "$(dirname "$0")/../.."

export SEGHUB_NGINX_USER="${SEGHUB_NGINX_USER:-www-data}"
export SEGHUB_NGINX_PREFIX="${SEGHUB_NGINX_PREFIX:-/var/lib/nginx/seghub}"
export SEGHUB_UPSTREAM_FILE="${SEGHUB_UPSTREAM_FILE:-/etc/nginx/seghub/active-upstream.conf}"
export SEGHUB_SERVER_NAME="${SEGHUB_SERVER_NAME:-_}"
export SEGHUB_HTTP_PORT="${SEGHUB_HTTP_PORT:-80}"
export SEGHUB_HTTPS_PORT="${SEGHUB_HTTPS_PORT:-443}"
export SEGHUB_TLS_CERTIFICATE="${SEGHUB_TLS_CERTIFICATE:-}"
export SEGHUB_TLS_CERTIFICATE_KEY="${SEGHUB_TLS_CERTIFICATE_KEY:-}"
# 1 GiB, as SEG_MAX_REQUEST_BYTES' default.
export SEGHUB_MAX_BODY="${SEGHUB_MAX_BODY:-1024m}"
export SEGHUB_RATE_API="${SEGHUB_RATE_API:-30r/s}"
export SEGHUB_BURST_API="${SEGHUB_BURST_API:-200}"
export SEGHUB_RATE_AUTH="${SEGHUB_RATE_AUTH:-10r/m}"
export SEGHUB_BURST_AUTH="${SEGHUB_BURST_AUTH:-20}"
export SEGHUB_RATE_UPLOADS="${SEGHUB_RATE_UPLOADS:-2r/s}"
export SEGHUB_BURST_UPLOADS="${SEGHUB_BURST_UPLOADS:-20}"

template=deploy/nginx/nginx.prod.conf
names="$(grep -o '\${SEGHUB_[A-Z_]*}' "$template" | sort -u)"
for name in $names; do
    variable="${name:2:-1}"
    [ -n "${!variable:-}" ] || { echo "render-nginx-conf: $variable is not set" >&2; exit 64; }
done
envsubst "$(echo $names)" <"$template"
