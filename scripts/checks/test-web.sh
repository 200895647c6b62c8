#!/usr/bin/env bash
# Browser test of the web UI: a throwaway PostgreSQL, segserver (the debug build scripts/test.sh
# made, or a fresh one) with two workers, two generated spheroid images (scripts/fixtures/make-synthetic.py),
# then Tests/Web/test_ui.py drives Debian's headless chromium through chromium-driver with selenium
# (PyPI, in the venv outside the checkout): sign up, project, upload, live segmentation status,
# polygons, vertex edit and save, COCO export download; with a real SMTP server (scripts/dev/smtp.sh), the mail
# flows: confirm the address, forgot password -> mail -> reset -> sign in, an invitation accepted by signing up. A screenshot of every step is taken; on
# failure they are kept (with the page source of the failing step and segserver's log) in
# ${SEG_WEB_ARTIFACTS:-/tmp/seghub-web-artifacts}, on success removed (kept with SEG_WEB_KEEP=1).
# Usage: scripts/checks/test-web.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3 chromium chromium-driver
seg_venv numpy opencv-python-headless selenium tifffile

artifacts="${SEG_WEB_ARTIFACTS:-/tmp/seghub-web-artifacts}"
rm -rf "$artifacts"
mkdir -p "$artifacts"
seg_workspace web
work="$SEG_WORK"

seg_step "web: building segserver (debug)"
seg_build segserver

seg_step "web: generating two spheroid images"
"$SEG_VENV/bin/python" scripts/fixtures/make-synthetic.py "$work/images" --size 512 --sets brightfield >/dev/null

seg_step "web: starting PostgreSQL, an SMTP server and segserver"
seg_start_database "$SEG_PG_DIR"
seg_start_smtp "$work/smtp"
seg_start_segserver SEG_WORKERS=2 SEG_SMTP_URL="$SEG_SMTP_URL" SEG_MAIL_FROM="SegHub <seghub@lab.example>"
url="$SEG_URL"

seg_step "web: driving headless chromium (Tests/Web/test_ui.py)"
if timeout --signal=KILL 5m "$SEG_VENV/bin/python" Tests/Web/test_ui.py "$url" \
    "$work/images/brightfield_0.png" "$work/images/brightfield_1.png" "$artifacts" "$SEG_SMTP_DIR/inbox"; then
    [ "${SEG_WEB_KEEP:-0}" = 1 ] && echo "web: screenshots in $artifacts" >&2 || rm -rf "$artifacts"
else
    cp "$work/segserver.log" "$artifacts/" 2>/dev/null || true
    echo "web: failed; screenshots, page source and segserver's log are in $artifacts" >&2
    exit 1
fi
