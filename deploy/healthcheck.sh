#!/bin/sh
# Container liveness probe for the aiprism image (Docker HEALTHCHECK, ECS healthCheck).
#
# - `aiprism serve ...`: GET http://127.0.0.1:PORT/health must answer 2xx. The port is taken from
#   `--bind ADDR:PORT` on the command line when given, else from $PORT, else 8080.
# - `aiprism worker` (or any other subcommand): there is no HTTP port; the probe passes while the process
#   runs (a crashed worker exits and the orchestrator restarts it).
#
# Reads the command line of PID 1 (the aiprism process with ENTRYPOINT in exec form, or an init such as
# tini/docker-init followed by the same arguments). HEALTHCHECK_PID=N reads another process (for testing).
set -eu

role=""
port="${PORT:-8080}"
prev=""
# shellcheck disable=SC2013
for arg in $(tr '\0' '\n' <"/proc/${HEALTHCHECK_PID:-1}/cmdline" 2>/dev/null || true); do
    case "$arg" in
        serve | worker | migrate | check | review | user)
            if [ -z "$role" ]; then role="$arg"; fi ;;
    esac
    case "$prev" in
        --bind)
            case "$arg" in
                *:*) port="${arg##*:}" ;;
            esac ;;
    esac
    case "$arg" in
        --bind=*:*) port="${arg##*:}" ;;
    esac
    prev="$arg"
done

case "$port" in
    '' | *[!0-9]*) port="${PORT:-8080}" ;;
esac

if [ "$role" != "serve" ]; then
    exit 0
fi
exec curl --fail --silent --show-error --output /dev/null --max-time 4 "http://127.0.0.1:${port}/health"
