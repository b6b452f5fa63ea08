#!/usr/bin/env bash
# Ingest benchmark for aiprism-docx (a script, not a timed test). In one run it prints, side by
# side: our read() over every good corpus .docx (MB/s, median of several repetitions), the four
# largest files one by one, python-docx paragraph extraction over the same files, a floor (unzip
# every entry + a plain quick-xml event scan of the main part), the ratios against the targets
# (>= 30x python-docx, within 3x of the floor), and the peak RSS / wall time of reading the
# 872-page handbook once in a fresh process (targets: < 100 MB, <= 1 s).
#
# Usage: bench/ingest/run.sh            (AIPRISM_CORPUS defaults to ../shared/corpus)
#        REPS=15 PY_REPS=5 bench/ingest/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${AIPRISM_CORPUS:-$root/../shared/corpus}"
reps="${REPS:-9}"
py_reps="${PY_REPS:-3}"

if [ ! -f "$corpus/MANIFEST.tsv" ]; then
  echo "corpus not found at $corpus; set AIPRISM_CORPUS" >&2
  exit 2
fi
corpus="$(cd "$corpus" && pwd)"

cd "$root"
echo "== building the release bench binary"
cargo build --release --quiet -p aiprism-docx --example ingest_bench
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/examples/ingest_bench"

echo "== python-docx baseline"
venv="$here/.venv"
py_args=()
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import docx' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet python-docx || echo "could not install python-docx; comparing without it"
fi
py_out="$(mktemp)"
trap 'rm -f "$py_out" "${rss_out:-}" "${one_out:-}"' EXIT
if "$venv/bin/python" -c 'import docx' 2>/dev/null; then
  "$venv/bin/python" -c 'import docx, sys; print("python-docx", docx.__version__ if hasattr(docx, "__version__") else "?", "on Python", sys.version.split()[0])'
  "$venv/bin/python" "$here/python_docx_bench.py" "$corpus" "$py_reps" > "$py_out"
  py_args=(--python "$py_out")
fi

echo
"$bin" --corpus "$corpus" --reps "$reps" "${py_args[@]}"

echo
echo "== handbook-872p.docx once, fresh process"
handbook="$corpus/unstructured/handbook-872p.docx"
rss_out="$(mktemp)"
one_out="$(mktemp)"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bin" --one "$handbook" > "$one_out" 2> "$rss_out"
  cat "$one_out"
  rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$rss_out")"
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$rss_out")"
  echo "peak RSS (/usr/bin/time -v): ${rss_kb} kB; whole process wall time ${wall}"
else
  "$bin" --one "$handbook" > "$one_out"
  cat "$one_out"
  rss_kb="$(sed -n 's/.*VmHWM \([0-9]*\) kB.*/\1/p' "$one_out")"
fi
read_ms="$(awk -F'\t' '$1 == "one" { sub(/ ms$/, "", $3); print $3; exit }' "$one_out")"
awk -v kb="$rss_kb" -v ms="$read_ms" 'BEGIN {
  printf "target: handbook peak RSS < 100 MB ...... %.1f MB  %s\n", kb / 1024, (kb < 102400 ? "MET" : "MISSED");
  printf "target: handbook read <= 1 s ........... %.1f ms  %s\n", ms, (ms <= 1000 ? "MET" : "MISSED");
}'
