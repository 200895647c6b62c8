#!/usr/bin/env bash
# Replays the denial-of-service attacks of issue 15 against a real segserver (the debug build that
# scripts/test.sh made, or a fresh one) on its own throwaway PostgreSQL, and prints a figure for each:
# the polygon-check attack (sign-in latency idle and under two concurrent heavy PUTs), oversized and
# control-character bodies (status codes), connections that never finish their headers (how long until
# the server closed them), a priority flood (where another user's job ran), event socket floods (how
# many were refused), the token edges (a token from before a password change, a logged-out
# session's token), pixel bombs (the server's RSS growth for one 10000×10000 16-bit PNG, for ten at
# once within SEG_DECODE_MEMORY_BYTES, and for an interlaced one, which is refused), and member
# enumeration (adding an address with an account and one without: both statuses, whether the bodies
# have the same keys, the owner's list). scripts/attack/attacks.py does the work with the standard
# library only.
# Exits non-zero when an attack still gets through (a 500, a connection left open, a socket over the
# cap, a revoked token accepted, a bomb over its memory bound, two different answers to adding a
# member); timings are printed, never judged.
# Usage: scripts/attack/attack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3

seg_workspace attack
work="$SEG_WORK"

seg_step "attack: building segserver (debug)"
seg_build segserver

seg_step "attack: starting PostgreSQL and segserver (one worker, no prefetch, short header timeout)"
seg_start_database "$SEG_PG_DIR"
export SEG_DECODE_MEMORY_BYTES=$((1 << 30))
seg_start_segserver SEG_WORKERS=1 SEG_WORKER_PREFETCH=0 SEG_HTTP_HEADER_TIMEOUT=3 SEG_EVENTS_MAX_PER_ADDRESS=40 \
    SEG_EVENTS_MAX_PER_USER=5 SEG_RATE_AUTH=0 SEG_RATE_API=0 SEG_DECODE_MEMORY_BYTES="$SEG_DECODE_MEMORY_BYTES"
SEG_SERVER_PID="$SEG_SERVER_PID" SEG_DB_URL="$SEG_DB_URL" python3 scripts/attack/attacks.py "$SEG_URL" || { tail -n 40 "$SEG_WORK/segserver.log" >&2; exit 1; }
