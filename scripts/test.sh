#!/usr/bin/env bash
# Runs SegHub's whole test suite on a fresh Debian machine: installs what is missing (apt
# packages machine-wide, idempotently), checks formatting, builds once in debug, runs every test.
# A throwaway PostgreSQL cluster (scripts/dev/postgres.sh) serves the run: its URL is exported as
# SEG_TEST_DATABASE_URL, and it is stopped and removed on exit, whether the tests pass or not. So does a
# reference inference server (scripts/dev/inference.sh: KServe with onnxruntime serving models/), as
# SEG_TEST_INFERENCE_URL, for the deep-learning segmenter's tests, and a real SMTP server
# (scripts/dev/smtp.sh: aiosmtpd with STARTTLS, implicit TLS and AUTH), as SEG_TEST_SMTP_DIR, for the mail tests, and
# SeaweedFS (scripts/dev/seaweedfs.sh: an S3 gateway checking Signature V4), as SEG_TEST_S3_DIR, for the object store's.
# Then scripts/checks/eval-real.sh judges the segmenter on real microscopy images against its goals,
# scripts/checks/e2e.sh runs segserver for real against its own throwaway cluster,
# scripts/checks/test-cluster.sh runs two API nodes and a worker node on SeaweedFS behind nginx, killing nodes,
# scripts/checks/test-monitoring.sh runs promtool's rule tests and a live Prometheus → Alertmanager chain (killing
# segserver, stopping PostgreSQL) and the scheduled backup round,
# scripts/attack/attack.sh replays the denial-of-service attacks of issue 15 against another, and
# scripts/checks/test-web.sh drives the web UI in headless chromium, scripts/checks/schemathesis.sh fuzzes the live API against its OpenAPI document, and
# scripts/checks/test-deploy.sh deploys, rolls back and redeploys under load through real nginx, and
# scripts/checks/test-image.sh builds the container image from the Dockerfile with buildah and runs it.
# Usage: scripts/test.sh [extra `swift test` arguments, e.g. --filter ContourTracerTests]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_step "installing missing system packages"
seg_apt_install libjpeg-dev libpng-dev libtiff-dev pkg-config

seg_step "starting a throwaway PostgreSQL cluster"
pg_dir="$(mktemp -d /tmp/seghub-pg.XXXXXX)"
eval_dir="$(mktemp -d /tmp/seghub-eval.XXXXXX)"
inference_dir="$(mktemp -d /tmp/seghub-inference.XXXXXX)"
smtp_dir="$(mktemp -d /tmp/seghub-smtp.XXXXXX)"
s3_dir="$(mktemp -d /tmp/seghub-s3.XXXXXX)"
stop_postgres() {
    bash scripts/dev/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
    bash scripts/dev/inference.sh stop "$inference_dir" >/dev/null 2>&1 || true
    bash scripts/dev/smtp.sh stop "$smtp_dir" >/dev/null 2>&1 || true
    bash scripts/dev/seaweedfs.sh stop "$s3_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir" "$eval_dir" "$inference_dir" "$smtp_dir" "$s3_dir"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
SEG_TEST_DATABASE_URL="$(bash scripts/dev/postgres.sh start "$pg_dir" | tail -n 1)"
export SEG_TEST_DATABASE_URL
echo "SEG_TEST_DATABASE_URL=$SEG_TEST_DATABASE_URL" >&2

seg_step "starting the reference inference server (KServe + onnxruntime, models/)"
SEG_TEST_INFERENCE_URL="$(bash scripts/dev/inference.sh start "$inference_dir" "$(seg_free_port)" | tail -n 1)"
export SEG_TEST_INFERENCE_URL
echo "SEG_TEST_INFERENCE_URL=$SEG_TEST_INFERENCE_URL" >&2

seg_step "starting a real SMTP server (aiosmtpd: STARTTLS, implicit TLS, AUTH)"
# Three consecutive free ports (STARTTLS, SMTPS, plain).
smtp_port="$(seg_free_ports 3)"
bash scripts/dev/smtp.sh start "$smtp_dir" "$smtp_port" >/dev/null
export SEG_TEST_SMTP_DIR="$smtp_dir"
echo "SEG_TEST_SMTP_DIR=$SEG_TEST_SMTP_DIR" >&2

seg_step "starting a real S3-compatible store (SeaweedFS, Signature V4 checked)"
bash scripts/dev/seaweedfs.sh start "$s3_dir" "$(seg_free_ports 8)" >/dev/null
export SEG_TEST_S3_DIR="$s3_dir"
echo "SEG_TEST_S3_DIR=$SEG_TEST_S3_DIR" >&2

seg_step "checking formatting (swift format lint --strict)"
swift format lint --strict -r Sources Tests Fuzz Benchmarks

seg_step "building (debug, with tests)"
swift build --build-tests

seg_step "running tests"
# Line-buffered, so a log shows every finished test even if the run is stopped; the suites that use the
# database carry a 5-minute time limit and the whole run a 40-minute one, so a hang fails instead of blocking CI.
timeout --signal=KILL 40m stdbuf -oL swift test --skip-build --parallel "$@"

seg_step "segmentation quality on real microscopy images (scripts/checks/eval-real.sh)"
bash scripts/checks/eval-real.sh "$(swift build --show-bin-path)/segctl" "$eval_dir"

seg_step "end-to-end: a real segserver on a throwaway PostgreSQL (scripts/checks/e2e.sh)"
bash scripts/checks/e2e.sh

seg_step "across machines: two API nodes and a worker node on S3 behind nginx (scripts/checks/test-cluster.sh)"
bash scripts/checks/test-cluster.sh

seg_step "monitoring: promtool tests, live Prometheus and Alertmanager, the scheduled backups (scripts/checks/test-monitoring.sh)"
bash scripts/checks/test-monitoring.sh

seg_step "denial-of-service attacks against a real segserver (scripts/attack/attack.sh)"
bash scripts/attack/attack.sh

seg_step "web UI in headless chromium (scripts/checks/test-web.sh)"
bash scripts/checks/test-web.sh

seg_step "API fuzzing against the OpenAPI document (scripts/checks/schemathesis.sh)"
bash scripts/checks/schemathesis.sh

seg_step "blue-green deployment under load through real nginx (scripts/checks/test-deploy.sh)"
bash scripts/checks/test-deploy.sh

seg_step "the container image, built from the Dockerfile and run (scripts/checks/test-image.sh)"
if [ "${SEGHUB_IMAGE_TEST:-}" = "docker" ]; then
    # Set only by the GitHub workflow, whose docker job builds the image with a real engine.
    echo "SEGHUB_IMAGE_TEST=docker: the image is built and tested by the workflow's docker job, not here" >&2
else
    bash scripts/checks/test-image.sh
fi
