#!/usr/bin/env bash
# Runs SegHub's whole test suite on a fresh Debian machine: installs what is missing (apt
# packages machine-wide, idempotently), checks formatting, builds once in debug, runs every test.
# A throwaway PostgreSQL cluster (scripts/postgres.sh) serves the run: its URL is exported as
# SEG_TEST_DATABASE_URL, and it is stopped and removed on exit, whether the tests pass or not.
# Then scripts/eval-real.sh judges the segmenter on real microscopy images against its goals,
# scripts/e2e.sh runs segserver for real against its own throwaway cluster, and
# scripts/test-web.sh drives the web UI in headless chromium, scripts/schemathesis.sh fuzzes the live API against its OpenAPI document, and
# scripts/test-deploy.sh deploys, rolls back and redeploys under load through real nginx, and
# scripts/test-image.sh builds the container image from the Dockerfile with buildah and runs it.
# Usage: scripts/test.sh [extra `swift test` arguments, e.g. --filter ContourTracerTests]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_step "installing missing system packages"
seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config

seg_step "starting a throwaway PostgreSQL cluster"
pg_dir="$(mktemp -d /tmp/seghub-pg.XXXXXX)"
eval_dir="$(mktemp -d /tmp/seghub-eval.XXXXXX)"
stop_postgres() {
    bash scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir" "$eval_dir"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
SEG_TEST_DATABASE_URL="$(bash scripts/postgres.sh start "$pg_dir" | tail -n 1)"
export SEG_TEST_DATABASE_URL
echo "SEG_TEST_DATABASE_URL=$SEG_TEST_DATABASE_URL" >&2

seg_step "checking formatting (swift format lint --strict)"
swift format lint --strict -r Sources Tests Fuzz Benchmarks

seg_step "building (debug, with tests)"
swift build --build-tests

seg_step "running tests"
# Line-buffered, so a log shows every finished test even if the run is stopped; the suites that use the
# database carry a 5-minute time limit and the whole run a 40-minute one, so a hang fails instead of blocking CI.
timeout --signal=KILL 40m stdbuf -oL swift test --skip-build --parallel "$@"

seg_step "segmentation quality on real microscopy images (scripts/eval-real.sh)"
bash scripts/eval-real.sh "$(swift build --show-bin-path)/segctl" "$eval_dir"

seg_step "end-to-end: a real segserver on a throwaway PostgreSQL (scripts/e2e.sh)"
bash scripts/e2e.sh

seg_step "web UI in headless chromium (scripts/test-web.sh)"
bash scripts/test-web.sh

seg_step "API fuzzing against the OpenAPI document (scripts/schemathesis.sh)"
bash scripts/schemathesis.sh

seg_step "blue-green deployment under load through real nginx (scripts/test-deploy.sh)"
bash scripts/test-deploy.sh

seg_step "the container image, built from the Dockerfile and run (scripts/test-image.sh)"
if [ "${SEGHUB_IMAGE_TEST:-}" = "docker" ]; then
    # Set only by the GitHub workflow, whose docker job builds the image with a real engine.
    echo "SEGHUB_IMAGE_TEST=docker: the image is built and tested by the workflow's docker job, not here" >&2
else
    bash scripts/test-image.sh
fi
