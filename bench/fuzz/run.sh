#!/usr/bin/env bash
# Fuzzes the .docx reader and the comment writer (cargo-fuzz needs a nightly toolchain, which this
# project does not use, so these are plain release binaries with their own structure-aware
# mutators; see crates/aiprism-docx/examples/fuzz_*.rs). Prints, for each: executions, exec/s,
# accepted inputs, panics, hangs and invariant failures; failing inputs are saved to bench/fuzz/out.
#
# Usage: bench/fuzz/run.sh [--iterations N] [--seconds S] [--threads T] [--seed N] [--timeout SECS]
#        (defaults: 1,000,000 executions each, 2 threads, 10 s per-input watchdog;
#         AIPRISM_CORPUS defaults to ../shared/corpus, whose good files seed the mutations)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${AIPRISM_CORPUS:-$root/../shared/corpus}"
corpus_args=()
if [ -f "$corpus/MANIFEST.tsv" ]; then
  corpus_args=(--corpus "$(cd "$corpus" && pwd)")
else
  echo "note: no corpus at $corpus; fuzzing generated packages only" >&2
fi

cd "$root"
echo "== building the fuzzers (release)"
cargo build --release --quiet -p aiprism-docx --example fuzz_reader --example fuzz_writer
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="$here/out"
mkdir -p "$out"

status=0
for fuzzer in fuzz_reader fuzz_writer; do
  echo "== $fuzzer"
  "$target_dir/release/examples/$fuzzer" "${corpus_args[@]}" --out "$out" "$@" || status=$?
done
if [ "$status" -ne 0 ]; then
  echo "fuzzing found problems (exit $status); inputs are in $out" >&2
fi
exit "$status"
