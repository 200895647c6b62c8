#!/usr/bin/env bash
# Runs SegHub's whole test suite on a fresh Debian machine: installs what is missing (apt
# packages machine-wide, idempotently), checks formatting, builds once in debug, runs every test.
# Usage: scripts/test.sh [extra `swift test` arguments, e.g. --filter ContourTracerTests]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seg_step "installing missing system packages"
seg_apt_install libjpeg-dev libpng-dev pkg-config

seg_step "checking formatting (swift format lint --strict)"
swift format lint --strict -r Sources Tests Fuzz Benchmarks

seg_step "building (debug, with tests)"
swift build --build-tests

seg_step "running tests"
swift test --skip-build --parallel "$@"
