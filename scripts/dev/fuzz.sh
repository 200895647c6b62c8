#!/usr/bin/env bash
# Builds the libFuzzer target FuzzSegCore (ASan + coverage, RELIABILITY.md F3) and runs it for
# DURATION seconds (default 600) on Fuzz/seeds plus a working corpus in .build-fuzz/corpus.
# Usage: scripts/dev/fuzz.sh [DURATION_SECONDS] [extra libFuzzer flags...]
# Findings land in .build-fuzz/artifacts/ (crash-*, oom-*, timeout-*); the log in .build-fuzz/fuzz.log.
# The contour tracer is fuzzed too (-DSEGHUB_FUZZ_TRACER) unless it is still the placeholder.
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-600}"
shift || true
scratch=.build-fuzz

flags=()
if ! grep -q "PLACEHOLDER" Sources/SegCore/Mask/ContourTracer.swift; then
    flags+=(-Xswiftc -DSEGHUB_FUZZ_TRACER)
else
    echo "fuzz.sh: ContourTracer is still a placeholder: fuzzing the decoders only" >&2
fi

# Both sanitizers in one -sanitize= flag: swiftc keeps only the last -sanitize= it sees (F3).
SEGHUB_FUZZ=1 swift build -c debug --scratch-path "$scratch" --sanitize=fuzzer \
    -Xswiftc -sanitize=fuzzer,address "${flags[@]}" --product FuzzSegCore

bin="$(SEGHUB_FUZZ=1 swift build -c debug --scratch-path "$scratch" --show-bin-path)/FuzzSegCore"
mkdir -p "$scratch/corpus" "$scratch/artifacts"

# SWIFT_BACKTRACE=enable=no: otherwise Swift's backtracer turns a crash into a spurious ASan
# report instead of libFuzzer's "deadly signal" (F3).
SWIFT_BACKTRACE=enable=no "$bin" \
    -rss_limit_mb=2048 -timeout=10 -max_total_time="$duration" -print_final_stats=1 \
    -artifact_prefix="$scratch/artifacts/" "$@" "$scratch/corpus" Fuzz/seeds 2>&1 | tee "$scratch/fuzz.log"
exit "${PIPESTATUS[0]}"
