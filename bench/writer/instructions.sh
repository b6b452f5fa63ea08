#!/usr/bin/env bash
# Instructions the comment writer executes for one repetition of the writer bench (500 comments
# into the handbook, 20 into every good corpus file), counted by valgrind's callgrind: unlike
# wall or CPU time, the count does not move with the machine's load, so two versions compare
# exactly. Every thread is counted (large parts are deflated on several). One repetition is the
# difference between a run with 3 repetitions and a run with 1, halved, so loading the corpus
# and preparing the comment specs do not count.
#
# Usage: bench/writer/instructions.sh [BASE_REV]   (default: compares HEAD with itself only)
#        e.g. bench/writer/instructions.sh e0b6894
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${AIPRISM_CORPUS:-$root/../shared/corpus}"
corpus="$(cd "$corpus" && pwd)"
command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 2; }

# Instructions of one bench repetition for the binary $1.
per_rep() {
  local bin="$1" out one three
  out="$(mktemp)"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --corpus "$corpus" --reps 1 >/dev/null 2>&1
  one="$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --corpus "$corpus" --reps 3 >/dev/null 2>&1
  three="$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
  rm -f "$out"
  echo $(((three - one) / 2))
}

# Builds the bench at revision $1 in a throwaway worktree and prints the binary's path.
build_rev() {
  local rev="$1" tree target
  tree="$(mktemp -d)"
  target="${TMPDIR:-/tmp}/aiprism-instructions-$rev"
  git -C "$root" worktree add -q --detach "$tree" "$rev"
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --quiet -p aiprism-docx --example writer_bench)
  git -C "$root" worktree remove --force "$tree"
  echo "$target/release/examples/writer_bench"
}

cd "$root"
cargo build --release --quiet -p aiprism-docx --example writer_bench
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
head_n="$(per_rep "$target_dir/release/examples/writer_bench")"
echo "HEAD ($(git rev-parse --short HEAD)): $head_n instructions per repetition"
if [ $# -ge 1 ]; then
  base_n="$(per_rep "$(build_rev "$1")")"
  echo "$1: $base_n instructions per repetition"
  python3 -c "import sys; b, h = int(sys.argv[1]), int(sys.argv[2]); print(f'HEAD executes {h / b:.2f}x the instructions of $1 ({(h - b) / b * 100:+.1f}%)')" "$base_n" "$head_n"
fi
