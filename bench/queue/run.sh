#!/usr/bin/env bash
# Job queue benchmark (a script, not a timed test): on SQLite and on PostgreSQL, in one run,
#   - throughput: JOBS (default 50,000) no-op jobs enqueued, then claimed and completed by 1 and by 4
#     workers, as plain claim/complete loops and through the worker runner; jobs/s for enqueueing, for
#     processing and overall (target: >= 1,000 jobs/s on each backend);
#   - idle pickup latency: a waiting worker, SAMPLES (default 200) jobs enqueued one at a time with
#     20-60 ms pauses, enqueue-to-start p50/p99, with the enqueuer in the same process and in another
#     process (targets: p99 < 50 ms on PostgreSQL through NOTIFY, < 250 ms on SQLite).
# PostgreSQL is started with scripts/lib.sh's ensure_postgres; the script creates its own database and
# drops it on exit. The SQLite file lives in a temporary directory.
#
# Usage: bench/queue/run.sh            JOBS=5000 SAMPLES=50 bench/queue/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/lib.sh"
cd "$AIPRISM_ROOT"

jobs="${JOBS:-50000}"
samples="${SAMPLES:-200}"

log "building the release bench binary"
cargo build --release --quiet -p aiprism-store --example queue_bench
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/examples/queue_bench"

tmp="$(mktemp -d)"
pg_db="aiprism_bench_$$"
cleanup() {
  rm -rf "$tmp"
  if [ -n "${AIPRISM_TEST_PG_URL:-}" ]; then
    psql "$AIPRISM_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

results="$tmp/results.txt"
: >"$results"

log "SQLite ($jobs jobs)"
"$bin" --url "sqlite://$tmp/bench.db" --label sqlite --jobs "$jobs" --samples "$samples" | tee -a "$results"

ensure_postgres
if [ -n "${AIPRISM_TEST_PG_URL:-}" ]; then
  psql "$AIPRISM_TEST_PG_URL" -qc "CREATE DATABASE \"$pg_db\"" >/dev/null
  pg_url="$(python3 - "$AIPRISM_TEST_PG_URL" "$pg_db" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
PY
)"
  log "PostgreSQL ($jobs jobs)"
  "$bin" --url "$pg_url" --label postgres --jobs "$jobs" --samples "$samples" | tee -a "$results"
  # How fast this machine's PostgreSQL commits right now, for context: one-row updates, with and without
  # waiting for the WAL flush (the queue's claims and completions commit without it; enqueues wait).
  if command -v pgbench >/dev/null 2>&1; then
    psql "$pg_url" -qc "CREATE TABLE bench_ref (id int PRIMARY KEY, v int); INSERT INTO bench_ref VALUES (1, 0)"
    echo "UPDATE bench_ref SET v = v + 1 WHERE id = 1;" >"$tmp/ref.sql"
    for mode in on off; do
      tps="$(PGOPTIONS="-c synchronous_commit=$mode" pgbench -n -c 1 -T 3 -f "$tmp/ref.sql" "$pg_url" 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p')"
      echo "RESULT kind=reference db=postgres synchronous_commit=$mode commits_per_s=${tps:-0}" | tee -a "$results"
    done
  fi
else
  log "PostgreSQL is not reachable: its figures are missing below"
fi

echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every figure)"
python3 - "$results" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))

def mark(ok):
    return "ok" if ok else "MISSED"

print()
print("Throughput (no-op jobs; target >= 1,000 jobs/s overall)")
print("  workers: 'queue' = plain claim/complete loops; 'runner' = the worker runner (task per job, heartbeats)")
print(f"{'database':<10} {'workers':>10} {'jobs':>7} {'enqueue/s':>10} {'claim+complete/s':>17} {'overall/s':>10}  target")
for r in rows:
    if r["kind"] != "throughput":
        continue
    total = float(r["total_per_s"])
    who = f"{r['workers']} {r['mode']}"
    print(f"{r['db']:<10} {who:>10} {r['jobs']:>7} {float(r['enqueue_per_s']):>10,.0f} "
          f"{float(r['process_per_s']):>17,.0f} {total:>10,.0f}  {mark(total >= 1000)}")
for r in rows:
    if r["kind"] == "reference":
        print(f"  PostgreSQL on this machine now: {float(r['commits_per_s']):,.0f} one-row commits/s with "
              f"synchronous_commit={r['synchronous_commit']}")
print()
print("Idle pickup latency, enqueue to handler start (targets: p99 < 50 ms PostgreSQL, < 250 ms SQLite)")
print("  'after commit' starts the clock when the enqueue call returned: the wake-up path alone; the")
print("  difference is the enqueue's own commit (an fsync on PostgreSQL, slow when the disk is busy)")
print(f"{'database':<10} {'enqueuer':<14} {'samples':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
      f"{'after commit p50/p99':>21} {'enqueue call p50/p99':>21}  target")
for r in rows:
    if r["kind"] != "latency":
        continue
    p99 = float(r["p99_ms"])
    limit = 50 if r["db"] == "postgres" else 250
    after = f"{float(r['commit_p50_ms']):.1f} / {float(r['commit_p99_ms']):.1f}"
    call = f"{float(r['enqueue_call_p50_ms']):.1f} / {float(r['enqueue_call_p99_ms']):.1f}"
    print(f"{r['db']:<10} {r['enqueuer']:<14} {r['samples']:>7} {float(r['p50_ms']):>7.1f} {p99:>7.1f} "
          f"{float(r['max_ms']):>7.1f} {after:>21} {call:>21}  {mark(p99 < limit)}")
PY
