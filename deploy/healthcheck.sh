#!/bin/sh
# Container liveness probe for the aiprism image (Docker HEALTHCHECK, ECS healthCheck).
#
# - `aiprism serve ...`: GET http://127.0.0.1:PORT/health must answer 2xx. The port is taken from
#   `--bind ADDR:PORT` on the command line when given, else from $PORT, else 8080.
# - `aiprism worker` with AIPRISM_WORKER_LISTEN=ADDR:PORT: GET http://ADDR:PORT/health on the worker's
#   listener must answer 2xx (a wildcard address is probed on loopback).
# - `aiprism worker` without it (or any other subcommand): there is no HTTP port; the probe passes while the
#   process runs (a crashed worker exits and the orchestrator restarts it).
#
# Reads the command line (and AIPRISM_WORKER_LISTEN from the environment) of PID 1: the aiprism process
# with ENTRYPOINT in exec form, or an init such as tini/docker-init followed by the same arguments.
# HEALTHCHECK_PID=N reads another process (for testing).
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

if [ "$role" = "worker" ]; then
    # The process's own environment, else ours (ECS and Docker run the probe with the container's).
    listen="$(tr '\0' '\n' <"/proc/${HEALTHCHECK_PID:-1}/environ" 2>/dev/null | sed -n 's/^AIPRISM_WORKER_LISTEN=//p' | tail -n 1)"
    [ -n "$listen" ] || listen="${AIPRISM_WORKER_LISTEN:-}"
    if [ -z "$listen" ]; then
        exit 0
    fi
    host="${listen%:*}"
    case "$host" in
        '' | 0.0.0.0) host=127.0.0.1 ;;
        '[::]') host='[::1]' ;;
    esac
    exec curl --fail --silent --show-error --output /dev/null --max-time 4 "http://${host}:${listen##*:}/health"
fi

if [ "$role" != "serve" ]; then
    exit 0
fi
exec curl --fail --silent --show-error --output /dev/null --max-time 4 "http://127.0.0.1:${port}/health"
