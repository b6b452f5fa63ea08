# Helpers shared by bench/load/run.sh and bench/faults/run.sh: build the release binaries and the load
# generator, start the fake model server and `aiprism serve` on loopback (ports picked by the OS), make
# users with API tokens, and stop what was started. Source it after scripts/lib.sh; do not run it.

# Builds aiprism, the fake model server and the load generator (release) and sets BIN_DIR and LOADGEN.
stack_build() {
  use_shared_target_dir
  log "building aiprism, the fake model server and the load generator (release)"
  # One invocation, so the three share one build of every dependency.
  cargo build --release --locked --quiet -p aiprism -p aiprism-fakes -p aiprism-testkit --bins --example loadgen
  BIN_DIR="$CARGO_TARGET_DIR/release"
  LOADGEN="$BIN_DIR/examples/loadgen"
}

# Waits up to $3 seconds for a line of file $1 matching the extended regex $2 and prints the first match.
wait_for_line() {
  local file="$1" pattern="$2" secs="$3" i line
  for i in $(seq 1 $((secs * 10))); do
    line="$(grep -m1 -oE "$pattern" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then printf '%s\n' "$line"; return 0; fi
    sleep 0.1
  done
  return 1
}

# The environment aiprism runs with: nothing from the caller's that would point it elsewhere (their
# database, configuration file, real model keys), plus the arguments (NAME=VALUE ...). An array, not a
# function, so a process started with it in the background is `$!` itself (env execs the program).
CLEAN_ENV=(env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 LOG_LEVEL=warn)
clean_env() {
  "${CLEAN_ENV[@]}" "$@"
}

# Starts the fake model server (Anthropic wire format); sets FAKE_PID and FAKE_BASE_URL.
start_fake_llm() {
  local out="$1/fake-llm.out"
  "$BIN_DIR/aiprism-fake-llm" --provider anthropic --port 0 >"$out" 2>"$1/fake-llm.err" &
  FAKE_PID=$!
  FAKE_BASE_URL="$(wait_for_line "$out" 'base_url=[^ ]+' 30 | cut -d= -f2-)" ||
    die "the fake model server did not start (see $1/fake-llm.err)"
}

# Starts `aiprism serve` on a loopback port with the fake model and the given extra NAME=VALUE settings;
# sets SERVER_PID and SERVER_URL. $1 is the working directory (logs go there).
start_aiprism() {
  local dir="$1"; shift
  local out="$dir/aiprism.out"
  : >"$out"
  "${CLEAN_ENV[@]}" AIPRISM_DATA_DIR="$dir/data" AIPRISM_AUTH=accounts \
    ANTHROPIC_API_KEY=fake-key ANTHROPIC_BASE_URL="$FAKE_BASE_URL" "$@" \
    "$BIN_DIR/aiprism" serve --bind 127.0.0.1:0 >"$out" 2>>"$dir/aiprism.err" &
  SERVER_PID=$!
  SERVER_URL="$(wait_for_line "$out" 'http://127\.0\.0\.1:[0-9]+' 60)" ||
    die "aiprism did not start (see $dir/aiprism.err)"
}

# Creates $2 reviewer accounts with an API token each in the database $3; writes the tokens to $1.
make_tokens() {
  local file="$1" n="$2" url="$3" i
  : >"$file"
  for i in $(seq 1 "$n"); do
    clean_env DATABASE_URL="$url" "$BIN_DIR/aiprism" user add "load$i" --role reviewer --password-stdin \
      <<<"load-test-password-$i" >/dev/null
    clean_env DATABASE_URL="$url" "$BIN_DIR/aiprism" user token "load$i" --label load 2>/dev/null >>"$file"
  done
}

# The URL of database $2 on the server of URL $1.
pg_url_with_db() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
PY
}

# Stops a process we started (SIGTERM, then SIGKILL after 5 s) and waits for it.
stop_pid() {
  local pid="${1:-}" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

machine_line() {
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every figure)"
}
