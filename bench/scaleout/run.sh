#!/usr/bin/env bash
# Scale-out run (a script, not a timed test): the scale-out scenario of crates/aiprism/tests/cli/scale_out/
# on both queue backends, one after the other, with its figures printed side by side:
#   two `aiprism serve --no-workers` and two `aiprism worker` processes on one PostgreSQL database,
#   originals in S3 (moto), the queue on the database and on SQS (moto), REDIS_URL with a prefix of its
#   own, sign-in required; a client signs in on server A and uploads on server B, watches the review's
#   event stream on A, one worker is killed with SIGKILL mid-review, and the run counts what each worker
#   did, what was redelivered, what is missing or duplicated (both must be 0), how long it took, what the
#   stream on A saw and which session checks passed (sign-out on B ends the session on A).
# PostgreSQL, Redis and moto are started with scripts/lib.sh (ensure_postgres, ensure_redis, ensure_moto);
# each run creates its own database, bucket, SQS queues and Redis prefix.
#
# Usage: bench/scaleout/run.sh [--release]      SECTIONS=200 LATENCY_MS=250 bench/scaleout/run.sh
#   --release      build the binary and the test in release mode (slow to build; the default is the
#                  test profile, which shares its build with the test suite)
#   SECTIONS       sections in the uploaded write-up (default 60)
#   LATENCY_MS     the fake model's time per call (default 250)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/lib.sh"
cd "$AIPRISM_ROOT"

profile=()
case "${1:-}" in
  --release) profile=(--release) ;;
  "") ;;
  *) die "usage: bench/scaleout/run.sh [--release]" ;;
esac

use_shared_target_dir
ensure_nextest
ensure_postgres
ensure_redis
ensure_moto
for var in AIPRISM_TEST_PG_URL AIPRISM_TEST_REDIS_URL AIPRISM_TEST_S3_ENDPOINT AIPRISM_TEST_SQS_ENDPOINT; do
  [ -n "${!var:-}" ] || die "$var is not set: the scale-out run needs PostgreSQL, Redis and moto"
done

export AIPRISM_SCALEOUT_SECTIONS="${SECTIONS:-60}"
export AIPRISM_SCALEOUT_LATENCY_MS="${LATENCY_MS:-250}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
trap "exit 130" INT TERM

log "building the test and the binary"
cargo nextest run --locked -p aiprism --test cli "${profile[@]}" --no-run

log "scale-out scenario: $AIPRISM_SCALEOUT_SECTIONS sections, fake model ${AIPRISM_SCALEOUT_LATENCY_MS} ms a call"
status=0
cargo nextest run --locked -p aiprism --test cli "${profile[@]}" --no-capture -E 'test(/scale_out/)' \
  2>&1 | tee "$tmp/out.txt" || status=$?

echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every timing)"
py_status=0
python3 - "$tmp/out.txt" <<'PY' || py_status=$?
import sys
figures, order = {}, []
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("SCALEOUT "):
        continue
    head, _, rest = line.rstrip("\n").partition(" queue=")
    queue, _, pair = rest.partition(" ")
    name, _, value = pair.partition("=")
    if name not in order:
        order.append(name)
    figures.setdefault(queue, {})[name] = value
labels = {
    "processes_started": "processes started",
    "startup_s": "start-up (s, processes + account)",
    "sections": "sections (title + parts)",
    "killed_at_sections_done": "worker killed (SIGKILL) at sections done",
    "worker_metrics_at_kill": "worker /metrics at the kill",
    "time_to_complete_s": "time to complete (s, upload to done)",
    "time_after_kill_s": "time after the kill (s)",
    "sections_done_per_worker": "sections done per worker",
    "jobs_redelivered_after_kill": "jobs redelivered after the kill",
    "sections_missing": "sections missing (must be 0)",
    "duplicate_findings": "duplicates found (must be 0)",
    "sse_events_on_other_server": "SSE events seen on server A (review started on B)",
    "original_sha256_checks": "original downloads (sha256 equal)",
    "session_continuity_checks_passed": "session continuity checks passed",
    "scenario_s": "whole scenario (s)",
}
print()
for queue in ("database", "sqs"):
    rows = figures.get(queue)
    print(f"Queue on {'the database (PostgreSQL)' if queue == 'database' else 'SQS (moto)'}")
    if not rows:
        print("  no figures: the scenario did not run or failed before its first figure (see the output above)")
        continue
    for name in order:
        if name in rows:
            print(f"  {labels.get(name, name):<52} {rows[name]}")
    print()
missing = [q for q in ("database", "sqs") if "session_continuity_checks_passed" not in figures.get(q, {})]
if missing:
    print("INCOMPLETE: no final figures for " + ", ".join(missing))
    sys.exit(1)
PY
if [ "$status" -ne 0 ]; then
  die "the scale-out test failed (exit $status); its output is above"
fi
exit "$py_status"
