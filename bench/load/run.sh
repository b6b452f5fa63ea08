#!/usr/bin/env bash
# Load test (issue 7): CLIENTS (default 200) concurrent clients for DURATION (default 60) seconds against
# a release `aiprism serve` on loopback, in accounts mode (every request carries an API token), with its
# own PostgreSQL database on the shared server and the fake model server reviewing every upload. The mix:
# uploads (a small Markdown write-up or a real .docx from the corpus, review on), document lists, the
# findings of a reviewed document, and accept/reject decisions (weights MIX, default 1,3,3,3). Prints
# per-route counts, errors by status, p50/p95/p99/max latency and throughput; exits 1 on any error.
# Everything is on 127.0.0.1 and stops by itself; the database is dropped on exit.
#
# Usage: bench/load/run.sh            CLIENTS=50 DURATION=20 USERS=2 bench/load/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/lib.sh"
source "$here/stack.sh"
cd "$AIPRISM_ROOT"

clients="${CLIENTS:-200}"
duration="${DURATION:-60}"
users="${USERS:-4}"
mix="${MIX:-1,3,3,3}"

stack_build
ensure_postgres
[ -n "${AIPRISM_TEST_PG_URL:-}" ] || die "PostgreSQL is not reachable; the load test needs it"
ensure_corpus
docx_args=()
if [ -n "${AIPRISM_CORPUS:-}" ] && [ -f "$AIPRISM_CORPUS/tara4/test_sample.docx" ]; then
  docx_args=(--docx "$AIPRISM_CORPUS/tara4/test_sample.docx")
else
  log "no corpus: uploading the built-in .docx write-up instead"
fi

tmp="$(mktemp -d)"
db="aiprism_load_$$"
FAKE_PID="" SERVER_PID=""
cleanup() {
  stop_pid "$SERVER_PID"
  stop_pid "$FAKE_PID"
  psql "$AIPRISM_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM

psql "$AIPRISM_TEST_PG_URL" -qc "CREATE DATABASE \"$db\"" >/dev/null
url="$(pg_url_with_db "$AIPRISM_TEST_PG_URL" "$db")"

start_fake_llm "$tmp"
clean_env DATABASE_URL="$url" "$BIN_DIR/aiprism" migrate >/dev/null
make_tokens "$tmp/tokens" "$users" "$url"
# The per-user API rate limit (AIPRISM_API_RATE_PER_MINUTE) is off: this measures the server, not it.
start_aiprism "$tmp" DATABASE_URL="$url" AIPRISM_API_RATE_PER_MINUTE=0
log "aiprism at $SERVER_URL; $clients clients for $duration s ($users users, mix upload,list,findings,decision = $mix)"

status=0
timeout --kill-after=10 $((duration + 240)) "$LOADGEN" --url "$SERVER_URL" --tokens-file "$tmp/tokens" \
  --clients "$clients" --duration "$duration" --mix "$mix" "${docx_args[@]}" --label load \
  --expect-no-errors | tee "$tmp/results.txt" || status=$?

echo
machine_line
counts="$(psql "$url" -AtF' ' -c "select
  (select count(*) from documents),
  (select count(*) from reviews),
  (select count(*) from reviews where status in ('succeeded','partial')),
  (select count(*) from jobs where status = 'done' and kind = 'review_section'),
  (select count(*) from jobs where status in ('queued','running') and kind = 'review_section')" 2>/dev/null ||
  echo '? ? ? ? ?')"
read -r documents reviews reviewed sections_done backlog <<<"$counts"
echo "database after the run: $documents documents, $reviews reviews ($reviewed finished), section jobs: $sections_done done"
echo "  through the fake model, $backlog still queued or running (the workers trail the upload rate)"
if [ "$status" = 0 ]; then
  echo "load test: ok (0 errors)"
else
  echo "load test: FAILED (exit $status; errors above)"
fi
exit "$status"
