#!/usr/bin/env bash
# Fuzzes the live API against its OpenAPI document with schemathesis (PyPI, installed into the
# venv outside the checkout): a throwaway PostgreSQL, segserver (the debug build scripts/test.sh
# made, or a fresh one), a registered user whose bearer token every request carries, then every
# operation through schemathesis' coverage, fuzzing and stateful (OpenAPI links) phases. It fails on
# any 5xx, an undocumented status code, a content type, header or body that breaks the document.
# Rate limits are off for the run (429 is documented, but the fuzzer would spend its budget on it).
# Usage: scripts/checks/schemathesis.sh [extra `schemathesis run` arguments, e.g. --max-examples 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/common.sh

seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config postgresql curl python3
seg_venv schemathesis

seg_workspace st
work="$SEG_WORK"

seg_step "schemathesis: building segserver (debug)"
seg_build segserver

seg_step "schemathesis: starting PostgreSQL and segserver"
seg_start_database "$SEG_PG_DIR"
seg_start_segserver SEG_RATE_AUTH=0 SEG_RATE_API=0
url="$SEG_URL"

token="$(curl -sf -X POST "$url/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email": "fuzz@example.org", "password": "fuzzing password 1", "name": "Fuzz"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')"

seg_step "schemathesis: fuzzing $url against /api/v1/openapi.json"
status=0
(cd "$work" && "$SEG_VENV/bin/schemathesis" run "$url/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples 30 --seed 20261127 "$@") || status=$?
if [ "$status" -ne 0 ] || grep -qE "panic|Fatal error" "$work/segserver.log"; then
    echo "schemathesis: failed (exit $status); segserver's log follows" >&2
    tail -n 50 "$work/segserver.log" >&2
    exit 1
fi
echo "schemathesis: no 5xx and every answer matches the document" >&2
