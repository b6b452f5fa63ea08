#!/usr/bin/env bash
# Fault tests (issue 7): a release `aiprism serve` on loopback, in accounts mode, with the fake model, and
#   1. PostgreSQL restarted mid-run: a private PostgreSQL cluster (initdb in a temporary directory, its
#      own port; the machine's shared server is never touched) serves aiprism under load from CLIENTS
#      (default 20) clients; after BASELINE (8) seconds the cluster is stopped (`pg_ctl stop -m fast`),
#      left down for OUTAGE (10) seconds and started again. Measured: during the outage every request is
#      answered within BOUND (12) seconds, with 503 and the JSON error body (code `unavailable`), never a
#      500 or a hang; /ready says 503 with the database down while /health stays 200; after the restart
#      requests succeed again without restarting aiprism (time to recovery), and the in-process workers
#      finish section reviews again (they survived).
#   2. The object store unreachable: aiprism on S3 (a private moto server on its own port); moto is
#      stopped (connections refused), then frozen (SIGSTOP: connections accepted, never answered).
#      Measured: uploads fail with 503 `unavailable` JSON within 5 s (refused) or 25 s (frozen; the S3
#      read timeout is 15 s),
#      and leave no document, section, review or job rows behind (counted in the database);
#      once the store is back, uploads succeed again, without restarting aiprism.
# Prints a summary table and exits 1 when a check fails. Bounded: about three minutes after the build.
#
# Usage: bench/faults/run.sh            CLIENTS=10 OUTAGE=5 bench/faults/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/lib.sh"
source "$here/../load/stack.sh"
cd "$AIPRISM_ROOT"

clients="${CLIENTS:-20}"
baseline="${BASELINE:-8}"
outage="${OUTAGE:-10}"
# A database wait gives up after the pool's 5 s acquire timeout, and a request waits at most twice (an
# upload whose best-effort activity entry waits it out before its review start does): 12 s covers both.
bound="${BOUND:-12}"
after=20
duration=$((baseline + outage + after))

stack_build
ensure_corpus
docx="" # without the corpus, the load generator uploads its built-in .docx and curl a Markdown file
if [ -n "${AIPRISM_CORPUS:-}" ] && [ -f "$AIPRISM_CORPUS/tara4/test_sample.docx" ]; then
  docx="$AIPRISM_CORPUS/tara4/test_sample.docx"
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  log "installing PostgreSQL (for initdb and pg_ctl)"
  apt_install postgresql postgresql-client
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
moto_venv="${XDG_CACHE_HOME:-$HOME/.cache}/aiprism/moto-venv"
if [ ! -x "$moto_venv/bin/moto_server" ]; then
  ensure_moto # installs moto into the venv
  [ -x "$moto_venv/bin/moto_server" ] || die "moto is not available"
fi

tmp="$(mktemp -d)"
# The cluster's directory must belong to the user PostgreSQL runs as (never root).
pgdir="$(mktemp -d /tmp/aiprism-faults-pg.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdir"; fi
FAKE_PID="" SERVER_PID="" MOTO_PID="" POLL_PIDS=""
cleanup() {
  for pid in $POLL_PIDS; do kill "$pid" 2>/dev/null || true; done
  stop_pid "$SERVER_PID"
  stop_pid "$FAKE_PID"
  if [ -n "$MOTO_PID" ]; then kill -CONT "$MOTO_PID" 2>/dev/null || true; stop_pid "$MOTO_PID"; fi
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  # KEEP_LOGS=DIR keeps the logs and request records of this run there (for a failed check).
  if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS" && cp -r "$tmp"/. "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$tmp" "$pgdir"
}
trap cleanup EXIT
trap "exit 130" INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# --- the private PostgreSQL cluster ---------------------------------------------------------------------
pg_port="$(free_port)"
log "private PostgreSQL cluster on 127.0.0.1:$pg_port ($pg_bin)"
as_pg "$pg_bin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >"$tmp/initdb.log" 2>&1 ||
  die "initdb failed: $(tail -5 "$tmp/initdb.log")"
pg_opts="-p $pg_port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
pg_start() { as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -o "$pg_opts" -l "$pgdir/server.log" -w -t 60 start >/dev/null; }
pg_stop() { as_pg "$pg_bin/pg_ctl" -D "$pgdir/data" -m fast -w -t 60 stop >/dev/null; }
pg_start
admin="postgres://postgres@127.0.0.1:$pg_port/postgres"
psql "$admin" -qc 'CREATE DATABASE aiprism' >/dev/null
psql "$admin" -qc 'CREATE DATABASE aiprism_s3' >/dev/null
db_url="postgres://postgres@127.0.0.1:$pg_port/aiprism"
s3_db_url="postgres://postgres@127.0.0.1:$pg_port/aiprism_s3"

start_fake_llm "$tmp"
printf '# Summary\n\nThe service failed for 42 minutes. Owner: TBD.\n\n# Actions\n\n- Add an alert.\n' >"$tmp/small.md"
docx_args=()
if [ -n "$docx" ]; then docx_args=(--docx "$docx"); else docx="$tmp/small.md"; fi

# --- 1. PostgreSQL restarted mid-run ---------------------------------------------------------------------
clean_env DATABASE_URL="$db_url" "$BIN_DIR/aiprism" migrate >/dev/null
make_tokens "$tmp/tokens" 2 "$db_url"
mkdir -p "$tmp/pg-run"
start_aiprism "$tmp/pg-run" DATABASE_URL="$db_url" AIPRISM_API_RATE_PER_MINUTE=0
pg_server_pid="$SERVER_PID"
token="$(head -n 1 "$tmp/tokens")"
log "1. PostgreSQL restart: aiprism at $SERVER_URL, $clients clients for $duration s, outage of $outage s after $baseline s"

# Probes /health and /ready once a second each, every probe in the background so a slow answer does not
# thin the samples: start_ms endpoint status seconds database_ok.
probe() {
  local endpoint="$1" out="$2" t line db_ok body
  t="$(now_ms)"
  body="$out.$t.body"
  line="$(curl -s -o "$body" -w '%{http_code} %{time_total}' --max-time 30 "$SERVER_URL/$endpoint" || true)"
  db_ok="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"]["database"]["ok"])' "$body" 2>/dev/null || echo -)"
  rm -f "$body"
  echo "$t $endpoint $line $db_ok" >>"$out"
}
poll() {
  while true; do
    probe "$1" "$2" &
    sleep 1
  done
}

"$LOADGEN" --url "$SERVER_URL" --tokens-file "$tmp/tokens" --clients "$clients" --duration "$duration" \
  "${docx_args[@]}" --timeout 30 --events "$tmp/events.csv" --label pg-restart >"$tmp/loadgen.out" 2>"$tmp/loadgen.err" &
loadgen_pid=$!
wait_for_line "$tmp/loadgen.err" 'clients for [0-9]+ s' 180 >/dev/null || die "the load generator did not start: $(cat "$tmp/loadgen.err")"
poll health "$tmp/polls.txt" & POLL_PIDS="$POLL_PIDS $!"
poll ready "$tmp/polls-ready.txt" & POLL_PIDS="$POLL_PIDS $!"
sleep "$baseline"
t_stop="$(now_ms)"
pg_stop
t_down="$(now_ms)"
log "   PostgreSQL stopped (took $((t_down - t_stop)) ms); down for $outage s"
sleep "$outage"
t_start="$(now_ms)"
pg_start
t_up="$(now_ms)"
log "   PostgreSQL started again (ready after $((t_up - t_start)) ms)"
wait "$loadgen_pid" || true
for pid in $POLL_PIDS; do kill "$pid" 2>/dev/null || true; done
POLL_PIDS=""
sleep 1 # the last probes finish (each is bounded by curl's --max-time, far above what they take)
cat "$tmp/polls-ready.txt" >>"$tmp/polls.txt"

# The same process still serves (not restarted), and its in-process workers went on after the restart:
# section reviews finished since then (the backlog the uploads queued is far longer than the run).
same_process=no
kill -0 "$pg_server_pid" 2>/dev/null && same_process=yes
sleep 2
jobs_counts="$(psql "$db_url" -AtF' ' -c "select
  (select count(*) from jobs where kind = 'review_section' and status = 'done' and finished_at > to_timestamp($t_up / 1000.0)),
  (select count(*) from jobs where kind = 'review_section' and status = 'dead'),
  (select count(*) from jobs where kind = 'review_section' and status in ('queued', 'running'))" 2>/dev/null || echo '? ? ?')"
stop_pid "$SERVER_PID"
SERVER_PID=""

# --- 2. The object store unreachable ---------------------------------------------------------------------
moto_port="$(free_port)"
moto_url="http://127.0.0.1:$moto_port"
bucket="aiprism-faults"
start_moto() {
  "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >>"$tmp/moto.log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do moto_up "$moto_url" && break; sleep 0.2; done
  moto_up "$moto_url" || die "moto did not start (see $tmp/moto.log)"
  # moto keeps buckets in memory: a fresh server needs the bucket again.
  curl -s -o /dev/null -X PUT "$moto_url/$bucket"
}
start_moto
clean_env DATABASE_URL="$s3_db_url" "$BIN_DIR/aiprism" migrate >/dev/null
make_tokens "$tmp/s3-tokens" 1 "$s3_db_url"
s3_token="$(head -n 1 "$tmp/s3-tokens")"
mkdir -p "$tmp/s3-run"
start_aiprism "$tmp/s3-run" DATABASE_URL="$s3_db_url" AIPRISM_API_RATE_PER_MINUTE=0 S3_BUCKET_NAME="$bucket" \
  S3_ENDPOINT="$moto_url" AWS_REGION=us-east-1 AIPRISM_S3_ACCESS_KEY_ID=test AIPRISM_S3_SECRET_ACCESS_KEY=test
s3_server_pid="$SERVER_PID"
log "2. object store: aiprism at $SERVER_URL on s3://$bucket at $moto_url"

# One upload: phase status seconds error_code.
upload_once() {
  local phase="$1" file="$2" out body="$tmp/up.$RANDOM$RANDOM"
  out="$(curl -s -o "$body" -w '%{http_code} %{time_total}' --max-time 60 \
    -H "Authorization: Bearer $s3_token" -F "file=@$file" "$SERVER_URL/api/v1/documents" || true)"
  code="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error",{}).get("code","-"))' "$body" 2>/dev/null || echo not_json)"
  echo "$phase $out $code" >>"$tmp/uploads.txt"
}
rows() {
  psql "$s3_db_url" -At -c "select
    (select count(*) from documents) || ' ' || (select count(*) from sections) || ' ' ||
    (select count(*) from reviews) || ' ' ||
    (select count(*) from jobs where kind = 'review_section')"
}
ready_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$SERVER_URL/ready" || echo 0; }
: >"$tmp/uploads.txt"
for f in "$tmp/small.md" "$docx"; do upload_once up "$f"; done
ready_up="$(ready_status)"
sleep 2 # let the reviews of those uploads settle, so the row counts below only move with new uploads
rows_before_refused="$(rows)"

stop_pid "$MOTO_PID"
MOTO_PID=""
upload_pids=()
for i in 1 2 3 4 5 6; do
  if [ $((i % 2)) = 0 ]; then upload_once refused "$docx" & else upload_once refused "$tmp/small.md" & fi
  upload_pids+=($!)
done
wait_uploads() { local p; for p in "${upload_pids[@]}"; do wait "$p" || true; done; upload_pids=(); }
wait_uploads
ready_refused="$(ready_status)"
rows_after_refused="$(rows)"

start_moto
for f in "$tmp/small.md" "$docx"; do upload_once back "$f"; done
sleep 2
rows_before_frozen="$(rows)"
kill -STOP "$MOTO_PID"
for i in 1 2 3; do upload_once frozen "$tmp/small.md" & upload_pids+=($!); done
wait_uploads
rows_after_frozen="$(rows)"
kill -CONT "$MOTO_PID"
for f in "$tmp/small.md" "$docx"; do upload_once thawed "$f"; done
same_s3_process=no
kill -0 "$s3_server_pid" 2>/dev/null && same_s3_process=yes

# --- figures -------------------------------------------------------------------------------------------------
echo
machine_line
python3 - "$tmp" "$t_stop" "$t_down" "$t_start" "$t_up" "$bound" "$same_process" "$jobs_counts" \
  "$ready_up" "$ready_refused" "$rows_before_refused" "$rows_after_refused" "$rows_before_frozen" \
  "$rows_after_frozen" "$same_s3_process" "$clients" <<'PY'
import collections, csv, math, sys

(tmp, t_stop, t_down, t_start, t_up, bound, same_process, jobs_counts, ready_up, ready_refused,
 rows_b1, rows_a1, rows_b2, rows_a2, same_s3, clients) = sys.argv[1:]
t_stop, t_down, t_start, t_up = map(int, (t_stop, t_down, t_start, t_up))
bound_ms = float(bound) * 1000
checks = []
def check(name, ok, figure):
    checks.append((name, ok, figure))

events = list(csv.DictReader(open(f"{tmp}/events.csv")))
for e in events:
    e["t"] = int(e["start_unix_ms"]); e["lat"] = float(e["latency_ms"]); e["status"] = int(e["status"])
    e["end"] = e["t"] + e["lat"]
expected = {"upload": 201}
ok = lambda e: e["status"] == expected.get(e["route"], 200)

before = [e for e in events if e["end"] < t_stop]
during = [e for e in events if e["end"] >= t_stop and e["t"] < t_up]
after = [e for e in events if e["t"] >= t_up]

print()
print(f"1. PostgreSQL restarted mid-run ({clients} clients; stopped at +0.0 s, down {(t_start - t_stop) / 1000:.1f} s, "
      f"ready again at +{(t_up - t_stop) / 1000:.1f} s)")
def describe(group):
    c = collections.Counter(("ok" if ok(e) else (f"{e['status']} {e['code']}" if e["status"] else e["code"])) for e in group)
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])) or "-"
def pct(values, p):
    if not values: return 0.0
    values = sorted(values); return values[max(1, math.ceil(len(values) * p / 100)) - 1]
print(f"   before the outage: {len(before)} requests: {describe(before)}")
print(f"   during the outage: {len(during)} requests: {describe(during)}")
print(f"   after the restart: {len(after)} requests: {describe(after)}")
failed_during = [e for e in during if not ok(e)]
lat = [e["lat"] for e in failed_during]
print(f"   failed requests during the outage: p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms, max {max(lat, default=0):.0f} ms")
slowest = collections.defaultdict(float)
for e in failed_during: slowest[e["route"]] = max(slowest[e["route"]], e["lat"])
print("   slowest failure by route: " + ", ".join(f"{r} {v / 1000:.1f} s" for r, v in sorted(slowest.items())))

check("no error before the outage", all(ok(e) for e in before), f"{sum(not ok(e) for e in before)} errors in {len(before)}")
bad = [e for e in during if not ok(e) and not (e["status"] == 503 and e["code"] == "unavailable")]
check("outage: every failure is 503 `unavailable` JSON (no 500, no hang)", not bad and failed_during,
      f"{len(failed_during) - len(bad)} of {len(failed_during)} failures" + (f"; other: {describe(bad)}" if bad else ""))
check(f"outage: every request answered within {bound} s", all(e["lat"] <= bound_ms for e in during),
      f"max {max((e['lat'] for e in during), default=0) / 1000:.1f} s")
firsts = {}
for e in sorted(after, key=lambda e: e["t"]):
    if ok(e) and e["route"] not in firsts: firsts[e["route"]] = e["t"] + e["lat"]
first_any = min(firsts.values(), default=None)
all_routes = max(firsts.values(), default=None) if len(firsts) == 4 else None
late_failures = [e for e in after if not ok(e)]
last_failure = max((e["t"] + e["lat"] for e in late_failures), default=None)
rec = (lambda t: f"{(t - t_up) / 1000:.1f} s" if t is not None else "never")
print(f"   recovery after PostgreSQL was ready: first success {rec(first_any)}, every route {rec(all_routes)}, "
      f"last failure {rec(last_failure) if late_failures else '-'}")
check("recovery without restarting aiprism (same process)", same_process == "yes" and all_routes is not None,
      f"first success after {rec(first_any)}, all four routes after {rec(all_routes)}")
tail = [e for e in after if e["t"] >= t_up + 10000]
check("after recovery: no error (from 10 s after the restart on)", tail and all(ok(e) for e in tail),
      f"{sum(not ok(e) for e in tail)} errors in {len(tail)}")
jobs_done, jobs_dead, jobs_left = (jobs_counts.split() + ["?"] * 3)[:3]
check("in-process workers go on after the restart (section jobs done since)", jobs_done.isdigit() and int(jobs_done) > 0,
      f"{jobs_done} done after the restart, {jobs_dead} dead, {jobs_left} still queued (uploads outpace the fake model)")

polls = [line.split() for line in open(f"{tmp}/polls.txt") if line.strip()]
def window(rows, endpoint, inside):
    out = []
    for t, ep, status, secs, db in rows:
        t = int(t); end = t + float(secs) * 1000
        in_outage = t >= t_down and end <= t_start
        if ep == endpoint and in_outage == inside: out.append((int(status), float(secs), db))
    return out
health_out = window(polls, "health", True); health_in = window(polls, "health", False)
ready_out = window(polls, "ready", True)
check("/health stays 200 throughout", health_out and all(s == 200 for s, _, _ in health_out + health_in),
      f"{len(health_out) + len(health_in)} probes: " + ", ".join(f"{k}: {v}" for k, v in collections.Counter(s for s, _, _ in health_out + health_in).items()))
check("/ready is 503 with the database down during the outage", ready_out and all(s == 503 and db == "False" for s, _, db in ready_out),
      f"{len(ready_out)} probes: " + ", ".join(f"{k}: {v}" for k, v in collections.Counter(f"{s} db_ok={db}" for s, _, db in ready_out).items())
      + f"; slowest {max((x for _, x, _ in ready_out), default=0):.1f} s")

print()
print("2. The object store unreachable (S3 on a private moto)")
uploads = [line.split() for line in open(f"{tmp}/uploads.txt") if line.strip()]
def phase(name): return [(int(s), float(t), c) for p, s, t, c in uploads if p == name]
for name, title in (("up", "store up"), ("refused", "moto stopped (refused)"), ("back", "moto started again"),
                    ("frozen", "moto frozen (SIGSTOP)"), ("thawed", "moto resumed")):
    rows = phase(name)
    print(f"   {title:<24} {len(rows)} uploads: " + ", ".join(f"{k}: {v}" for k, v in collections.Counter(
        f"{s}" + (f" {c}" if c != "-" else "") for s, _, c in rows).items()) + f"; max {max((t for _, t, _ in rows), default=0):.1f} s")
names = "documents sections reviews section-jobs".split()
def rowdiff(b, a):
    b = list(map(int, b.split())); a = list(map(int, a.split()))
    return {n: y - x for n, x, y in zip(names, b, a)}
d1 = rowdiff(rows_b1, rows_a1); d2 = rowdiff(rows_b2, rows_a2)
print(f"   rows before/after the refused uploads: {rows_b1} -> {rows_a1} ({' '.join(names)})")
print(f"   rows before/after the frozen uploads:  {rows_b2} -> {rows_a2}")
check("store up: uploads succeed", phase("up") and all(s == 201 for s, _, _ in phase("up")), f"{len(phase('up'))} uploads")
refused = phase("refused")
check("refused: every upload fails with 503 `unavailable` JSON", refused and all(s == 503 and c == "unavailable" for s, _, c in refused),
      ", ".join(f"{s} {c}" for s, _, c in refused[:1]) + f" x{len(refused)}")
check("refused: each fails within 5 s", all(t <= 5 for _, t, _ in refused), f"max {max((t for _, t, _ in refused), default=0):.1f} s")
check("refused: no orphan rows", all(v == 0 for v in d1.values()), ", ".join(f"{k} {v:+d}" for k, v in d1.items()))
frozen = phase("frozen")
check("frozen: every upload fails with 503 `unavailable` JSON", frozen and all(s == 503 and c == "unavailable" for s, _, c in frozen),
      ", ".join(f"{s} {c}" for s, _, c in frozen[:1]) + f" x{len(frozen)}")
check("frozen: each fails within 25 s (S3 read timeout 15 s)", all(t <= 25 for _, t, _ in frozen), f"max {max((t for _, t, _ in frozen), default=0):.1f} s")
check("frozen: no orphan rows", all(v == 0 for v in d2.values()), ", ".join(f"{k} {v:+d}" for k, v in d2.items()))
check("/ready: 200 with the store up, 503 when it is not", ready_up == "200" and ready_refused == "503", f"{ready_up} / {ready_refused}")
check("store back: uploads succeed without restarting aiprism",
      same_s3 == "yes" and phase("back") and phase("thawed") and all(s == 201 for s, _, _ in phase("back") + phase("thawed")),
      f"{len(phase('back'))} after restart, {len(phase('thawed'))} after resume")

print()
print(f"{'check':<72} {'result':<7} figure")
for name, good, figure in checks:
    print(f"{name:<72} {'ok' if good else 'FAILED':<7} {figure}")
failed = [c for c in checks if not c[1]]
print()
print(f"fault tests: {len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY
