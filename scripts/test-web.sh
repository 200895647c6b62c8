#!/usr/bin/env bash
# Browser test of the web UI: a throwaway PostgreSQL, segserver (the debug build scripts/test.sh
# made, or a fresh one) with two workers, two generated spheroid images (scripts/make-synthetic.py),
# then Tests/Web/test_ui.py drives Debian's headless chromium through chromium-driver with selenium
# (PyPI, in the venv outside the checkout): sign up, project, upload, live segmentation status,
# polygons, vertex edit and save, COCO export download. A screenshot of every step is taken; on
# failure they are kept (with the page source of the failing step and segserver's log) in
# ${SEG_WEB_ARTIFACTS:-/tmp/seghub-web-artifacts}, on success removed (kept with SEG_WEB_KEEP=1).
# Usage: scripts/test-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 chromium chromium-driver
seg_venv numpy opencv-python-headless selenium tifffile

artifacts="${SEG_WEB_ARTIFACTS:-/tmp/seghub-web-artifacts}"
rm -rf "$artifacts"
mkdir -p "$artifacts"
work="$(mktemp -d /tmp/seghub-web.XXXXXX)"
pg_dir="$(mktemp -d /tmp/seghub-web-pg.XXXXXX)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    bash scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


seg_step "web: building segserver (debug)"
swift build --product segserver 2>&1 | grep -v "^warning:\|CMakeLists" >&2 || true
bin="$(swift build --show-bin-path)"

seg_step "web: generating two spheroid images"
"$SEG_VENV/bin/python" scripts/make-synthetic.py "$work/images" --size 512 --sets brightfield >/dev/null

seg_step "web: starting PostgreSQL and segserver"
seg_start_database "$pg_dir"
port="$(seg_free_port)"
mkdir -p "$work/data"
SEG_DATABASE_URL="$SEG_DB_URL" \
    SEG_DATA_DIR="$work/data" \
    SEG_JWT_SECRET="web-secret-$(head -c 24 /dev/urandom | base64)" \
    SEG_HTTP_HOST=127.0.0.1 SEG_HTTP_PORT="$port" SEG_WORKERS=2 SEG_LOG_LEVEL=warning \
    "$bin/segserver" >"$work/segserver.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
seg_wait_http "$url/api/health" 200 60 "$server_pid" "$work/segserver.log"

seg_step "web: driving headless chromium (Tests/Web/test_ui.py)"
if timeout --signal=KILL 5m "$SEG_VENV/bin/python" Tests/Web/test_ui.py "$url" \
    "$work/images/brightfield_0.png" "$work/images/brightfield_1.png" "$artifacts"; then
    [ "${SEG_WEB_KEEP:-0}" = 1 ] && echo "web: screenshots in $artifacts" >&2 || rm -rf "$artifacts"
else
    cp "$work/segserver.log" "$artifacts/" 2>/dev/null || true
    echo "web: failed; screenshots, page source and segserver's log are in $artifacts" >&2
    exit 1
fi
