#!/usr/bin/env bash
# Builds and runs the cib_parse libFuzzer target without cargo-fuzz (nightly required).
# Usage: fuzz/run.sh [SECONDS] [INPUT...]   (SECONDS defaults to 60; with INPUTs, replays them)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
cases="${HERD_SCHEDULER_CASES:-../../shared/scheduler-cases}"
mkdir -p seeds artifacts corpus
if [ -d "$cases/dev" ] && [ -z "$(ls -A seeds)" ]; then
  for input in "$cases"/dev/*/input.xml; do
    cp "$input" "seeds/$(basename "$(dirname "$input")").xml"
  done
fi
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS away from build scripts and proc macros.
host="$(rustc +nightly -vV | sed -n 's/^host: //p')"
cargo +nightly build --release --target "$host" --bin cib_parse
binary="target/$host/release/cib_parse"
if [ "$#" -gt 0 ]; then
  exec "$binary" "$@"
fi
exec "$binary" -max_total_time="$seconds" -max_len=65536 -artifact_prefix=artifacts/ \
  corpus seeds
