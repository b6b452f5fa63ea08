#!/usr/bin/env bash
# Comment-writer benchmark (a script, not a timed test). In one run it prints, side by side:
# our write_comments() putting 500 comments into the corpus's largest document
# (unstructured/handbook-872p.docx) and 20 comments into every good corpus document (bytes in,
# bytes out; median of several repetitions), python-docx (>= 1.2, `document.add_comment`) doing
# the same (open, comment the runs of as many paragraphs, save), and the ratios (wall time, and CPU
# time, which other processes on the machine do not inflate) against the
# target (>= 30x python-docx). Files python-docx cannot open, or in which it reaches no paragraph,
# are counted and skipped on both sides. The machine's speed drifts by tens of percent over a
# minute, so the two sides run in alternating rounds (python-docx, then aiprism, ROUNDS times)
# and the verdict is the median of the rounds' ratios: each compares runs made moments apart.
#
# Usage: bench/writer/run.sh              (AIPRISM_CORPUS defaults to ../shared/corpus)
#        ROUNDS=5 REPS=15 PY_REPS=3 bench/writer/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${AIPRISM_CORPUS:-$root/../shared/corpus}"
reps="${REPS:-9}"
py_reps="${PY_REPS:-1}"
rounds="${ROUNDS:-3}"

if [ ! -f "$corpus/MANIFEST.tsv" ]; then
  echo "corpus not found at $corpus; set AIPRISM_CORPUS" >&2
  exit 2
fi
corpus="$(cd "$corpus" && pwd)"

cd "$root"
echo "== building the release bench binary"
cargo build --release --quiet -p aiprism-docx --example writer_bench
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/examples/writer_bench"

echo "== python-docx baseline"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import docx; docx.Document().add_comment' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check 'python-docx>=1.2' \
    || echo "could not install python-docx >= 1.2; comparing without it"
fi
py_out="$(mktemp)"
rust_out="$(mktemp)"
trap 'rm -f "$py_out" "$rust_out"' EXIT
if ! "$venv/bin/python" -c 'import docx; docx.Document().add_comment' 2>/dev/null; then
  echo
  "$bin" --corpus "$corpus" --reps "$reps"
  exit 0
fi
"$venv/bin/python" -c 'import docx, sys; print("python-docx", docx.__version__, "on Python", sys.version.split()[0])'
for round in $(seq 1 "$rounds"); do
  echo
  echo "== round $round of $rounds"
  "$venv/bin/python" "$here/python_docx_bench.py" "$corpus" "$py_reps" > "$py_out"
  # The files python-docx cannot handle are the same every round: listed once.
  "$bin" --corpus "$corpus" --reps "$reps" --python "$py_out" | tee -a "$rust_out" | grep -v '^ratios' \
    | { if [ "$round" -eq 1 ]; then cat; else grep -v '^ *skipped: '; fi; }
done
echo
echo "== median over $rounds rounds (target >= 30x python-docx)"
grep '^ratios' "$rust_out" | python3 -c '
import statistics, sys
rows = [[float(x) for x in line.split("\t")[1:]] for line in sys.stdin]
names = ["handbook, 500 comments, wall time", "handbook, 500 comments, CPU time",
         "corpus, 20 comments each, wall time", "corpus, 20 comments each, CPU time"]
for i, name in enumerate(names):
    values = [r[i] for r in rows]
    m = statistics.median(values)
    verdict = "MET" if m >= 30 else "MISSED"
    each = ", ".join(f"{v:.1f}" for v in values)
    print(f"{name:40s} {m:5.1f}x  ({verdict}; rounds: {each})")
'
