#!/bin/sh
# Long fuzzing run of the r3_* API harness (tests/fuzz/fuzz_api.c).
# Usage: tests/fuzz/run-long.sh [build-dir] [seconds]   (default build, 600)
# Builds the harness, fuzzes into a scratch corpus seeded from
# tests/fuzz/corpus, and prints libFuzzer's final statistics. A crash leaves
# the input in the current directory (crash-*) and exits non-zero.
set -eu
build=${1:-build}
seconds=${2:-600}
source_dir=$(cd "$(dirname "$0")" && pwd)
cmake --build "$build" --target fuzz_api -j2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/fuzz/fuzz_api" -max_total_time="$seconds" -max_len=4096 \
  -print_final_stats=1 "$work" "$source_dir/corpus"
echo "corpus after the run: $(ls "$work" | wc -l) new inputs"
