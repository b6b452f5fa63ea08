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
