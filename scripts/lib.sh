# Shared helpers for the project's scripts: install what is missing, start what is not running, and fail
# loudly (never skip) when CI=true and a service cannot be reached. Source it; do not run it.

AIPRISM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIPRISM_ROOT

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly when we are root, through sudo otherwise).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "need root to run: $*"; fi
}

_apt_updated=""
# Installs Debian packages, running `apt-get update` once per script run before the first install.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: $*"
  if [ -z "$_apt_updated" ]; then
    as_root apt-get update -qq || die "apt-get update failed"
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    || die "apt-get install $* failed"
}

ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install --locked cargo-nextest || die "could not install cargo-nextest"
  fi
}

# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and exports AIPRISM_TEST_PG_URL.
ensure_postgres() {
  export AIPRISM_TEST_PG_URL="${AIPRISM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_up; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
  fi
  log "starting PostgreSQL"
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$version" ]; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  if ! pg_up; then
    if is_ci; then die "PostgreSQL is not reachable at $AIPRISM_TEST_PG_URL (CI requires it)"; fi
    log "warning: PostgreSQL is not reachable; PostgreSQL tests will not run"
    unset AIPRISM_TEST_PG_URL
    return 0
  fi
  # Tests connect as `postgres` over TCP without a password (trust), as on the project's machines.
  if ! psql "$AIPRISM_TEST_PG_URL" -Atc 'select 1' >/dev/null 2>&1; then
    die "PostgreSQL answers but $AIPRISM_TEST_PG_URL cannot log in; set AIPRISM_TEST_PG_URL to a URL that can create databases"
  fi
}

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

# Removes test databases a crashed run may have left behind (each test drops its own normally).
drop_stale_test_databases() {
  [ -n "${AIPRISM_TEST_PG_URL:-}" ] || return 0
  psql "$AIPRISM_TEST_PG_URL" -Atc "select datname from pg_database where datname like 'aiprism_t_%'" 2>/dev/null |
    while read -r db; do
      [ -n "$db" ] && psql "$AIPRISM_TEST_PG_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    done
  return 0
}

# Points AIPRISM_CORPUS at the shared corpus beside the project when it is not set.
ensure_corpus() {
  if [ -z "${AIPRISM_CORPUS:-}" ] && [ -d "$AIPRISM_ROOT/../shared/corpus" ]; then
    AIPRISM_CORPUS="$(cd "$AIPRISM_ROOT/../shared/corpus" && pwd)"
    export AIPRISM_CORPUS
  fi
  if [ -z "${AIPRISM_CORPUS:-}" ] || [ ! -f "$AIPRISM_CORPUS/MANIFEST.tsv" ]; then
    if is_ci; then die "the corpus is missing (set AIPRISM_CORPUS to the folder with MANIFEST.tsv)"; fi
    log "warning: no corpus found; corpus tests will not run"
    unset AIPRISM_CORPUS
  fi
}

# One build directory shared by every checkout on this machine, so a fresh clone reuses compiled
# dependencies instead of rebuilding them (cargo keys artefacts by version, features and path).
use_shared_target_dir() {
  if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/aiprism/target"
  fi
  mkdir -p "$CARGO_TARGET_DIR"
}

# Makes sure a moto server (PyPI's AWS mock, used for the SQS backend's tests) answers on loopback and
# exports AIPRISM_TEST_SQS_ENDPOINT. moto is installed with pip into a venv under the cache directory
# when missing and started in the background; a server already answering on the port is reused.
# Locally a failure is a warning (the SQS tests then print a note and skip); with CI=true it is fatal.
ensure_moto() {
  local port="${AIPRISM_MOTO_PORT:-5055}"
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/aiprism/moto-venv"
  local endpoint="http://127.0.0.1:$port"
  if moto_up "$endpoint"; then
    export AIPRISM_TEST_SQS_ENDPOINT="$endpoint" AIPRISM_TEST_S3_ENDPOINT="$endpoint"
    return 0
  fi
  if [ ! -x "$venv/bin/moto_server" ]; then
    log "installing moto[server] into $venv"
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6'; }; then
      rm -rf "$venv"
      _moto_unavailable "could not install moto[server] with pip"
      return 0
    fi
  fi
  log "starting moto on $endpoint"
  mkdir -p "$(dirname "$venv")"
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$(dirname "$venv")/moto.log" 2>&1 &
  for _ in $(seq 1 60); do moto_up "$endpoint" && break; sleep 0.5; done
  if ! moto_up "$endpoint"; then
    _moto_unavailable "moto did not answer on $endpoint (see $(dirname "$venv")/moto.log)"
    return 0
  fi
  export AIPRISM_TEST_SQS_ENDPOINT="$endpoint" AIPRISM_TEST_S3_ENDPOINT="$endpoint"
}

# Whether a moto server answers at the given URL (its dashboard API answers GET /moto-api/ with 200).
moto_up() {
  python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
PY
}

_moto_unavailable() {
  if is_ci; then die "$1 (CI requires moto for the SQS backend's tests)"; fi
  log "warning: $1; SQS tests will not run"
  unset AIPRISM_TEST_SQS_ENDPOINT
}

# Makes sure LibreOffice's `soffice` is on PATH: the writer's oracle test converts written .docx
# files to ODT with it (`soffice --headless --convert-to odt`). Installs Debian's
# libreoffice-writer-nogui when missing. Locally a failure is a warning (the oracle test then prints
# a note and skips); with CI=true it is fatal.
ensure_libreoffice() {
  if command -v soffice >/dev/null 2>&1; then return 0; fi
  log "installing LibreOffice (libreoffice-writer-nogui)"
  if ! (apt_install libreoffice-writer-nogui) || ! command -v soffice >/dev/null 2>&1; then
    if is_ci; then die "soffice (LibreOffice) is not available (CI requires it for the writer's oracle test)"; fi
    log "warning: soffice is not available; the LibreOffice oracle test will not run"
  fi
  return 0
}

# Makes sure Debian's Chromium is at /usr/bin/chromium: the browser end-to-end tests (e2e/) drive it
# with playwright-core (which never downloads a browser). Installs the `chromium` package when missing.
# Locally a failure is a warning (the browser tests then do not run); with CI=true it is fatal.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  log "installing Chromium (Debian's chromium package)"
  if ! (apt_install chromium) || [ ! -x /usr/bin/chromium ]; then
    if is_ci; then die "/usr/bin/chromium is not available (CI requires it for the browser end-to-end tests)"; fi
    log "warning: Chromium is not available; the browser end-to-end tests will not run"
  fi
  return 0
}

# Installs the browser tests' npm packages (playwright-core only) with `npm ci` in e2e/ when
# node_modules is missing or older than package-lock.json. Node and npm must be installed; locally their
# absence is a warning (the browser tests then do not run), with CI=true it is fatal.
ensure_e2e_deps() {
  local dir="$AIPRISM_ROOT/e2e"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if is_ci; then die "node and npm are required for the browser end-to-end tests (CI requires them)"; fi
    log "warning: node/npm not found; the browser end-to-end tests will not run"
    return 0
  fi
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing the browser tests' npm packages (npm ci in e2e/)"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || die "npm ci in e2e/ failed"
  fi
}

# Makes sure a Redis server answers on 127.0.0.1:6379 (or AIPRISM_TEST_REDIS_URL) and exports
# AIPRISM_TEST_REDIS_URL for the shared-session and shared-limit tests. Installs Debian's redis-server
# and starts it (in memory only) when missing. Locally a failure is a warning (the Redis tests then print
# a note and skip); with CI=true it is fatal.
ensure_redis() {
  export AIPRISM_TEST_REDIS_URL="${AIPRISM_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
  if redis_up; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Redis"
    apt_install redis-server || true
  fi
  if command -v redis-server >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  fi
  if ! redis_up; then
    if is_ci; then die "Redis is not reachable at $AIPRISM_TEST_REDIS_URL (CI requires it)"; fi
    log "warning: Redis is not reachable; the Redis tests will not run"
    unset AIPRISM_TEST_REDIS_URL
  fi
  return 0
}

# Whether Redis answers PING at AIPRISM_TEST_REDIS_URL's host and port.
redis_up() {
  python3 - "$AIPRISM_TEST_REDIS_URL" <<'PY' >/dev/null 2>&1
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1)
s.sendall(b"PING\r\n")
assert s.recv(64).startswith(b"+PONG")
PY
}
